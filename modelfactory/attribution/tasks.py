"""Celery tasks of attribution: thin, idempotent, acks_late wrappers around the services.

They run on the `attribution` queue (its own worker in the Procfile; routed by `CELERY_TASK_ROUTES`),
so a backward pass never delays training jobs or housekeeping, and GPU hosts can take it in production.
"""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    max_retries=60,
)
def attribute_receipt(self, receipt_id: int) -> None:
    """Attribute one answer; retried every few seconds while an index it needs is still building."""
    from modelfactory.attribution.services import IndexesNotReady, receipt_attribute

    try:
        receipt_attribute(receipt_id=receipt_id)
    except IndexesNotReady as waiting:
        logger.info("receipt %s waits: %s", receipt_id, waiting)
        raise self.retry(countdown=3) from waiting


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def build_adapter_sketch(sketch_id: int) -> None:
    from modelfactory.attribution.index_services import sketch_build

    sketch_build(sketch_id=sketch_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def build_span_index(version_id: int) -> None:
    from modelfactory.attribution.index_services import span_index_build

    span_index_build(version_id=version_id)


@shared_task(acks_late=True, ignore_result=True)
def sweep_attribution() -> None:
    """Scheduled by beat: re-queue lost work, fail visibly what keeps failing, index new adapters."""
    from modelfactory.attribution.services import attribution_sweep

    outcome = attribution_sweep()
    if outcome["requeued"] or outcome["failed"]:
        logger.info("attribution sweep: %s", outcome)
