"""Writing inference receipts: the lineage of an answer, its fee, and how the fee is split.

A receipt is written with lineage weights (contributors by their share of the adapter's training
rows, exactly what the job's manifest lists; a composite spreads its weights over its adapters) and,
for answers of adapters trained on community rows, an attribution query. The attribution worker
(`modelfactory.attribution`) later replaces the weights with lineage mixed with gradient influence
and span matching, and re-splits the contributors' part with `receipt_split`. Fees use
`contracts.fee_split`, so the split always adds up to the fee in integer base units.

Who is paid: attribution names contributors by the wallet their rows were contributed under (or, for
rows contributed with no wallet, by their person key), but the money is owed to people: the split pays
every person here under ``person:<id>`` (`ledger.payees`), and settlement pays that person's proven
wallet, or holds the share until they have one. A missing wallet therefore never breaks an answer, and
an address nobody holds never receives anyone's earnings. The developer's part goes to whoever trained
the adapter (for an imported copy, the original's developer), split by merge weight for a composite.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Mapping
from fractions import Fraction

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from eth_utils import is_hex_address

from contracts.fee_split import FeeRates, Parties, SplitShares, account_key, inference_fee, split_fee
from datanets.models import Row
from modelfactory.catalog.models import ORIGIN_UNKNOWN, PublishedModel
from modelfactory.ledger.models import InferenceReceipt
from modelfactory.ledger.payees import person_key, person_of


def _adapter_parts(published: PublishedModel) -> list[tuple[PublishedModel, Fraction]]:
    """The adapters behind an answer with their weights (summing to 1); none for a base model."""
    from modelfactory.catalog.selectors import composite_parts

    if published.kind == PublishedModel.Kind.ADAPTER:
        return [(published, Fraction(1))]
    if published.kind == PublishedModel.Kind.COMPOSITE:
        return composite_parts(published)
    return []


def _origin_note(adapter: PublishedModel) -> str:
    """What a receipt says of where an imported adapter's lineage comes from; empty for one trained here."""
    if adapter.job_id:
        return ""
    if adapter.origin_job_id:
        how = "same files" if adapter.origin_match == "files" else "near-identical weights"
        return f"copy of the adapter of fine-tuning job {adapter.origin_job_id} ({how}): its lineage is paid"
    return ORIGIN_UNKNOWN


def lineage(published: PublishedModel) -> dict:
    """Adapters, datanet versions, and contributor/datanet weights by share of training rows.

    Contributors are keyed by the wallet their rows were contributed under, or by their person key when
    they contributed with no wallet (or share a wallet string with someone else here); ``people`` maps
    every such key to the person behind it, which is who the split pays.
    """
    contributors: Counter[str] = Counter()
    datanets: Counter[str] = Counter()
    people: dict[str, int] = {}
    adapters, versions, notes = [], [], []
    for adapter, weight in _adapter_parts(published):
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

    weights = normalise(contributors)
    return {
        "adapters": adapters,
        "datanet_versions": versions,
        "notes": notes,
        "attribution": {
            "methods": ["lineage"],
            "combination": "contributors weighted by their share of each adapter's training rows, "
            "adapters by their merge weight",
            "contributors": weights,
            "datanets": normalise(datanets),
            "people": {key: person for key, person in people.items() if key in weights},
            "rows": [],
        },
    }


def fee_rates(published: PublishedModel | None = None) -> FeeRates:
    """The model's own rates where its owner set them, the platform's defaults elsewhere."""

    def pick(own, default: int) -> int:
        return int(own) if own is not None else default

    return FeeRates(
        rate_in=pick(published.fee_rate_in if published else None, settings.MODELFACTORY_FEE_RATE_IN),
        rate_out=pick(published.fee_rate_out if published else None, settings.MODELFACTORY_FEE_RATE_OUT),
        platform_fee=pick(published.fee_platform if published else None, settings.MODELFACTORY_FEE_PLATFORM),
    )


def split_shares() -> SplitShares:
    return SplitShares(**settings.MODELFACTORY_FEE_SHARES)


def _people_of(keys: list[str], known: Mapping[str, int]) -> dict[str, int]:
    """The person behind each contributor key: from the receipt's lineage, a person key itself, or the
    person who contributed rows under that wallet (the most rows wins; attribution evidence can name
    rows outside the training set, e.g. a version's held-out rows)."""
    found = {key: int(known[key]) for key in keys if key in known}
    for key in keys:
        if key not in found and (person := person_of(key)) is not None:
            found[key] = person
    wallets = [key for key in keys if key not in found and is_hex_address(key)]
    if wallets:
        counts = (
            Row.objects.filter(wallet_address__in=wallets)
            .values("wallet_address", "contributor_id")
            .annotate(rows=Count("id"))
            .order_by("wallet_address", "-rows", "contributor_id")
        )
        for entry in counts:
            found.setdefault(entry["wallet_address"], entry["contributor_id"])
    return found


def developer_weights(published: PublishedModel) -> dict[str, Fraction]:
    """Who is paid the developer's part, by person key: whoever trained the adapter (for an imported copy,
    the original's developer, not the importer), each part's developer by merge weight for a composite,
    nobody for a base model (the platform takes it)."""
    weights: dict[str, Fraction] = defaultdict(Fraction)
    for adapter, weight in _adapter_parts(published):
        source = adapter.lineage_job
        developer_id = source.owner_id if source is not None and adapter.origin_job_id else adapter.owner_id
        if developer_id is not None and weight:
            weights[person_key(developer_id)] += weight
    return dict(weights)


def receipt_split(
    *,
    published: PublishedModel,
    fee: int,
    contributors: dict[str, float],
    people: Mapping[str, int] | None = None,
) -> dict:
    """The fee split by role and by account, contributors weighted as given (weights summing to 1).

    People are paid under their person key (`ledger.payees`), whatever wallet they have: settlement
    decides the wallet. A contributor key that is no person here is paid as the address it is; one that is
    neither (nothing to pay) leaves its weight to the others, or to the platform when it is alone.
    """
    owners = _people_of(list(contributors), people or {})
    payees: dict[str, Fraction] = defaultdict(Fraction)
    for key, weight in contributors.items():
        if key in owners:
            payees[person_key(owners[key])] += Fraction(weight).limit_denominator(10**9)
        elif is_hex_address(key):
            payees[key] += Fraction(weight).limit_denominator(10**9)
    platform = settings.MODELFACTORY_PLATFORM_WALLET
    split = split_fee(
        fee,
        shares=split_shares(),
        contributor_weights=dict(payees),
        developer_weights=developer_weights(published) or None,
    )
    parties = Parties(
        developer=platform,
        base_model_owner=platform,
        compute_operator=settings.MODELFACTORY_OPERATOR_WALLET,
        platform=platform,
    )
    return {
        "roles": {
            "developer": split.developer,
            "contributors": sum(split.contributors.values()),
            "base_model_owner": split.base_model_owner,
            "compute_operator": split.compute_operator,
            "platform": split.platform,
        },
        "by_account": split.by_account(parties),
        "contributors": {account_key(key): amount for key, amount in split.contributors.items()},
        "developers": split.developers,
    }


@transaction.atomic
def receipt_record(
    *,
    published: PublishedModel,
    tokens_in: int,
    tokens_out: int,
    user=None,
    api_key_id: int | None = None,
    receipt_id: uuid.UUID | None = None,
    prompt: str | None = None,
    answers: list[dict] | None = None,
    request_id: str = "",
) -> InferenceReceipt:
    """Record one answer. Call it inside the transaction that does the request's accounting.

    `receipt_id` lets a stream announce the receipt's id in its first chunk, before the answer ends.
    `prompt` (as the model saw it) and `answers` (`[{"text", "token_ids"}]`, one per choice) queue the
    answer for attribution beyond lineage; without them the receipt stays on lineage.

    A composite's parts are checked again here, for `user`: each must still be live and usable by them
    (`CompositePartUnavailable` otherwise), so no receipt pays for a merge the caller could not be
    served, even if a part was revoked or unpublished after the request was admitted.
    """
    from modelfactory.attribution.services import needs_attribution, query_record
    from modelfactory.catalog.selectors import composite_parts_for

    if published.kind == PublishedModel.Kind.COMPOSITE:
        composite_parts_for(user, published)
    traced = lineage(published)
    traced["attribution"]["lineage"] = {
        "contributors": traced["attribution"]["contributors"],
        "datanets": traced["attribution"]["datanets"],
        "people": traced["attribution"]["people"],
    }
    if traced["notes"]:
        traced["attribution"]["notes"] = traced["notes"]
    fee = inference_fee(tokens_in=tokens_in, tokens_out=tokens_out, rates=fee_rates(published))
    receipt = InferenceReceipt(
        **({"receipt_id": receipt_id} if receipt_id is not None else {}),
        user=user if user is not None and user.is_authenticated else None,
        api_key_id=api_key_id,
        request_id=request_id,
        published_model=published,
        model_name=published.api_name,
        base_model=published.base_model.name,
        adapters=traced["adapters"],
        datanet_versions=traced["datanet_versions"],
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        fee=fee,
        split=receipt_split(
            published=published,
            fee=fee,
            contributors=traced["attribution"]["contributors"],
            people=traced["attribution"]["people"],
        ),
        attribution=traced["attribution"],
    )
    queued = prompt is not None and bool(answers) and needs_attribution(receipt)
    if queued:
        receipt.attribution_status = InferenceReceipt.AttributionStatus.PENDING
    receipt.save()
    if queued:
        query_record(receipt=receipt, prompt=prompt, answers=answers)
    return receipt
