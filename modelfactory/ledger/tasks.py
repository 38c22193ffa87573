"""Celery tasks of the ledger: thin wrappers around the services."""

from __future__ import annotations

import logging

from celery import shared_task

from modelfactory.ledger.services import epoch_close_and_commit

logger = logging.getLogger(__name__)


@shared_task(name="modelfactory.ledger.tasks.settle_epochs", ignore_result=True)
def settle_epochs() -> dict:
    """Beat-scheduled: close an epoch from the unsettled receipts, commit every queued epoch in order.

    Never raises on an outage: the epochs stay queued and the next beat tick commits them.
    """
    run = epoch_close_and_commit()
    logger.info(
        "settlement: closed=%s committed=%s queued=%s %s", run.closed, run.committed, run.queued, run.error
    )
    return {"closed": run.closed, "committed": run.committed, "queued": run.queued, "error": run.error}
