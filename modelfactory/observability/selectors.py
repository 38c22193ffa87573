"""Reads for the metrics: counts only, each one indexed query, cheap enough for a scrape every few seconds."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count

from modelfactory.ledger.models import Epoch, InferenceReceipt


@dataclass(frozen=True)
class SettlementBacklog:
    epochs_pending: dict[str, int]
    """Epochs not committed yet, by status (`open`: closed off-chain, not sent; `committing`: sent)."""
    receipts_waiting: int
    """Receipts no epoch holds yet."""


def settlement_backlog() -> SettlementBacklog:
    pending = dict.fromkeys([Epoch.Status.OPEN.value, Epoch.Status.COMMITTING.value], 0)
    rows = (
        Epoch.objects.filter(status__in=list(pending))
        .order_by()
        .values_list("status")
        .annotate(count=Count("id"))
    )
    pending.update({status: count for status, count in rows})
    return SettlementBacklog(
        epochs_pending=pending,
        receipts_waiting=InferenceReceipt.objects.filter(epoch__isnull=True).count(),
    )
