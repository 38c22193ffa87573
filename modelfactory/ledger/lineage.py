"""The lineage of an answer: the adapters behind it, the datanet versions they were trained on, and
each contributor's and datanet's share of the training rows (what the job's manifest lists; a
composite spreads its weights over its adapters by merge weight).

Lineage is true of every answer, so it is what a receipt is written with and what it falls back to:
the attribution worker mixes it with its evidence (`ReceiptAttribution.lineage_weights`) and pays on
it alone when the receipt settled first.
"""

from __future__ import annotations

from collections import Counter
from fractions import Fraction

from datanets.models import Row
from modelfactory.catalog.models import ORIGIN_UNKNOWN, PublishedModel
from modelfactory.catalog.selectors import adapter_parts
from modelfactory.ledger.payees import person_key
from modelfactory.ledger.receipt_attribution import LineageWeights, ReceiptAttribution

COMBINATION = (
    "contributors weighted by their share of each adapter's training rows, adapters by their merge weight"
)


def _origin_note(adapter: PublishedModel) -> str:
    """What a receipt says of where an imported adapter's lineage comes from; empty for one trained here."""
    if adapter.job_id:
        return ""
    if adapter.origin_job_id:
        how = "same files" if adapter.origin_match == "files" else "near-identical weights"
        return f"copy of the adapter of fine-tuning job {adapter.origin_job_id} ({how}): its lineage is paid"
    return ORIGIN_UNKNOWN


def lineage(published: PublishedModel, parts: list[tuple[PublishedModel, Fraction]] | None = None) -> dict:
    """The receipt fields that say where an answer of `published` comes from, as a new receipt stores
    them: `adapters`, `datanet_versions` and `attribution` (a `ReceiptAttribution`, on lineage alone).

    `parts` are the adapters behind the answer with their weights, when the caller has them already
    (checked for the caller, `catalog.selectors.composite_parts_for`); `adapter_parts` otherwise.

    Contributors are keyed by the wallet their rows were contributed under, or by their person key when
    they contributed with no wallet (or share a wallet string with someone else here); ``people`` maps
    every such key to the person behind it, which is who the split pays.
    """
    if parts is None:
        parts = adapter_parts(published)
    contributors: Counter[str] = Counter()
    datanets: Counter[str] = Counter()
    people: dict[str, int] = {}
    adapters, versions, notes = [], [], []
    for adapter, weight in parts:
        entry = {"name": adapter.api_name, "version": adapter.version, "weight": float(weight)}
        if origin := _origin_note(adapter):
            entry["origin"] = origin
            notes.append(f"{adapter.api_name}: {origin}")
        adapters.append(entry)
        source = adapter.lineage_job
        manifest = source.manifest if source is not None else {}
        versions += [
            {"datanet": ref["datanet_id"], "version": ref["version"], "merkle_root": ref["merkle_root"]}
            for ref in manifest.get("datanets", [])
        ]
        row_ids = manifest.get("training_row_ids", [])
        counted = list(
            Row.objects.filter(pk__in=row_ids)
            .order_by("pk")
            .values_list("wallet_address", "contributor_id", "datanet__slug")
        )
        for wallet, contributor_id, slug in counted:
            key = wallet or person_key(contributor_id)
            if people.setdefault(key, contributor_id) != contributor_id:
                key = person_key(contributor_id)  # one wallet string, two people: never merge them
                people[key] = contributor_id
            contributors[key] += weight / len(counted)
            datanets[slug] += weight / len(counted)

    def normalise(counter: Counter) -> dict[str, float]:
        total = sum(counter.values())
        return {key: float(value / total) for key, value in counter.most_common()} if total else {}

    paid = normalise(contributors)
    weights = LineageWeights(
        contributors=paid,
        datanets=normalise(datanets),
        people={key: person for key, person in people.items() if key in paid},
    )
    attribution = ReceiptAttribution(
        methods=["lineage"],
        combination=COMBINATION,
        contributors=weights.contributors,
        datanets=weights.datanets,
        people=weights.people,
        rows=[],
        lineage=weights,
        notes=notes or None,
    )
    return {"adapters": adapters, "datanet_versions": versions, "attribution": attribution.to_json()}
