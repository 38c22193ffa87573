"""Writing inference receipts: the lineage of an answer, its fee, and how the fee is split.

A receipt is written on lineage (`ledger.lineage`) with its fee split (`ledger.receipt_split`). The
ledger knows nothing of what comes after: a caller that queues the answer for attribution beyond
lineage does it through the attribution app (`attribution.services.answer_receipt_record`), which
builds the receipt with `receipt_draft` and writes it with its query, and whose worker later rewrites
the receipt's attribution and re-splits the contributors' part.
"""

from __future__ import annotations

import uuid
from typing import Required, TypedDict, Unpack

from django.conf import settings
from django.db import transaction

from contracts.fee_split import FeeRates, inference_fee
from modelfactory.catalog.models import PublishedModel
from modelfactory.catalog.selectors import adapter_parts, composite_parts_for
from modelfactory.ledger.lineage import lineage
from modelfactory.ledger.models import InferenceReceipt
from modelfactory.ledger.receipt_attribution import ReceiptAttribution
from modelfactory.ledger.receipt_split import receipt_split


def fee_rates(published: PublishedModel | None = None) -> FeeRates:
    """The model's own rates where its owner set them, the platform's defaults elsewhere."""

    def pick(own, default: int) -> int:
        return int(own) if own is not None else default

    return FeeRates(
        rate_in=pick(published.fee_rate_in if published else None, settings.MODELFACTORY_FEE_RATE_IN),
        rate_out=pick(published.fee_rate_out if published else None, settings.MODELFACTORY_FEE_RATE_OUT),
        platform_fee=pick(published.fee_platform if published else None, settings.MODELFACTORY_FEE_PLATFORM),
    )


def receipt_draft(
    *,
    published: PublishedModel,
    tokens_in: int,
    tokens_out: int,
    user=None,
    api_key_id: int | None = None,
    receipt_id: uuid.UUID | None = None,
    request_id: str = "",
) -> InferenceReceipt:
    """The receipt of one answer, not yet saved: for a caller that writes more with it in one write
    (the attribution status of an answer it queues); `receipt_record` otherwise.

    A composite's parts are checked again here, for `user`: each must still be live and usable by them
    (`CompositePartUnavailable` otherwise), so no receipt pays for a merge the caller could not be
    served, even if a part was revoked or unpublished after the request was admitted.
    """
    if published.kind == PublishedModel.Kind.COMPOSITE:
        parts = composite_parts_for(user, published)
    else:
        parts = adapter_parts(published)
    traced = lineage(published, parts)
    attribution = ReceiptAttribution.from_json(traced["attribution"])
    fee = inference_fee(tokens_in=tokens_in, tokens_out=tokens_out, rates=fee_rates(published))
    return InferenceReceipt(
        **({"receipt_id": receipt_id} if receipt_id is not None else {}),
        user=user if user is not None and user.is_authenticated else None,
        api_key_id=api_key_id,
        request_id=request_id,
        published_model=published,
        model_name=published.api_name,
        base_model=published.base_model.name,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        fee=fee,
        split=receipt_split(
            published=published,
            fee=fee,
            contributors=attribution.contributors,
            people=attribution.people,
            parts=parts,
        ),
        **traced,
    )


class AnswerUsage(TypedDict, total=False):
    """What one answer used, as `receipt_draft` takes it: the receipt writers pass it on unchanged."""

    published: Required[PublishedModel]
    tokens_in: Required[int]
    tokens_out: Required[int]
    user: object
    api_key_id: int | None
    receipt_id: uuid.UUID | None
    request_id: str


@transaction.atomic
def receipt_record(**usage: Unpack[AnswerUsage]) -> InferenceReceipt:
    """Record one answer on lineage. Call it inside the transaction that does the request's accounting.

    `receipt_id` lets a stream announce the receipt's id in its first chunk, before the answer ends.
    """
    receipt = receipt_draft(**usage)
    receipt.save()
    return receipt
