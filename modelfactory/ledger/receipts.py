"""Writing inference receipts: the lineage of an answer, its fee, and how the fee is split.

A receipt is written with lineage weights (contributors by their share of the adapter's training
rows, exactly what the job's manifest lists; a composite spreads its weights over its adapters) and,
for answers of adapters trained on community rows, an attribution query. The attribution worker
(`modelfactory.attribution`) later replaces the weights with lineage mixed with gradient influence
and span matching, and re-splits the contributors' part with `receipt_split`. Fees use
`contracts.fee_split`, so the split always adds up to the fee in integer base units.
"""

from __future__ import annotations

import uuid
from collections import Counter
from fractions import Fraction

from django.conf import settings
from django.db import transaction

from contracts.fee_split import FeeRates, Parties, SplitShares, inference_fee, split_fee
from datanets.models import Row
from modelfactory.catalog.models import PublishedModel
from modelfactory.ledger.models import InferenceReceipt


def _adapter_parts(published: PublishedModel) -> list[tuple[PublishedModel, Fraction]]:
    if published.kind == PublishedModel.Kind.ADAPTER:
        return [(published, Fraction(1))]
    if published.kind == PublishedModel.Kind.COMPOSITE:
        pairs = published.recipe.get("adapters", [])
        parts = PublishedModel.objects.in_bulk([name for name, _ in pairs], field_name="api_name")
        total = sum(Fraction(str(weight)) for _, weight in pairs) or Fraction(1)
        return [(parts[name], Fraction(str(weight)) / total) for name, weight in pairs if name in parts]
    return []


def lineage(published: PublishedModel) -> dict:
    """Adapters, datanet versions, and contributor/datanet weights by share of training rows."""
    contributors: Counter[str] = Counter()
    datanets: Counter[str] = Counter()
    adapters, versions = [], []
    for adapter, weight in _adapter_parts(published):
        adapters.append({"name": adapter.api_name, "version": adapter.version, "weight": float(weight)})
        manifest = adapter.job.manifest if adapter.job_id else {}
        versions += [
            {"datanet": ref["datanet_id"], "version": ref["version"], "merkle_root": ref["merkle_root"]}
            for ref in manifest.get("datanets", [])
        ]
        row_ids = manifest.get("training_row_ids", [])
        rows = Row.objects.filter(pk__in=row_ids).values_list("wallet_address", "datanet__slug")
        counted = list(rows)
        for wallet, slug in counted:
            contributors[wallet] += weight / len(counted)
            datanets[slug] += weight / len(counted)

    def normalise(counter: Counter) -> dict[str, float]:
        total = sum(counter.values())
        return {key: float(value / total) for key, value in counter.most_common()} if total else {}

    return {
        "adapters": adapters,
        "datanet_versions": versions,
        "attribution": {
            "methods": ["lineage"],
            "combination": "contributors weighted by their share of each adapter's training rows, "
            "adapters by their merge weight",
            "contributors": normalise(contributors),
            "datanets": normalise(datanets),
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


def receipt_split(*, published: PublishedModel, fee: int, contributors: dict[str, float]) -> dict:
    """The fee split by role and by account, contributors weighted as given (weights summing to 1)."""
    split = split_fee(
        fee,
        shares=split_shares(),
        contributor_weights={
            wallet: Fraction(weight).limit_denominator(10**9) for wallet, weight in contributors.items()
        },
    )
    developer = (
        published.owner.wallet_address if published.owner_id and published.owner.wallet_address else None
    )
    parties = Parties(
        developer=developer or settings.MODELFACTORY_PLATFORM_WALLET,
        base_model_owner=settings.MODELFACTORY_PLATFORM_WALLET,
        compute_operator=settings.MODELFACTORY_OPERATOR_WALLET,
        platform=settings.MODELFACTORY_PLATFORM_WALLET,
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
) -> InferenceReceipt:
    """Record one answer. Call it inside the transaction that does the request's accounting.

    `receipt_id` lets a stream announce the receipt's id in its first chunk, before the answer ends.
    `prompt` (as the model saw it) and `answers` (`[{"text", "token_ids"}]`, one per choice) queue the
    answer for attribution beyond lineage; without them the receipt stays on lineage.
    """
    from modelfactory.attribution.services import needs_attribution, query_record

    traced = lineage(published)
    traced["attribution"]["lineage"] = {
        "contributors": traced["attribution"]["contributors"],
        "datanets": traced["attribution"]["datanets"],
    }
    fee = inference_fee(tokens_in=tokens_in, tokens_out=tokens_out, rates=fee_rates(published))
    receipt = InferenceReceipt(
        **({"receipt_id": receipt_id} if receipt_id is not None else {}),
        user=user if user is not None and user.is_authenticated else None,
        api_key_id=api_key_id,
        published_model=published,
        model_name=published.api_name,
        base_model=published.base_model.name,
        adapters=traced["adapters"],
        datanet_versions=traced["datanet_versions"],
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        fee=fee,
        split=receipt_split(published=published, fee=fee, contributors=traced["attribution"]["contributors"]),
        attribution=traced["attribution"],
    )
    queued = prompt is not None and bool(answers) and needs_attribution(receipt)
    if queued:
        receipt.attribution_status = InferenceReceipt.AttributionStatus.PENDING
    receipt.save()
    if queued:
        query_record(receipt=receipt, prompt=prompt, answers=answers)
    return receipt
