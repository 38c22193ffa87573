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


@shared_task(acks_late=True, ignore_result=True)
def register_on_chain() -> None:
    """Scheduled by beat: record new datanet versions and adapters on chain; waits out outages."""
    from contracts.errors import ChainUnavailable
    from modelfactory.ledger.chain import ContractsNotDeployed, settlement_client
    from modelfactory.ledger.chain_writer_lease_services import ChainWriterBusy, chain_writer_lease
    from modelfactory.ledger.registration_services import registrations_sync

    try:
        with chain_writer_lease():
            registrations_sync(client=settlement_client())
    except (ChainUnavailable, ContractsNotDeployed, ChainWriterBusy) as error:
        logger.info("chain registrations wait: %s", error)


@shared_task(name="modelfactory.ledger.tasks.watch_vault", acks_late=True, ignore_result=True)
def watch_vault() -> dict:
    """Beat-scheduled: credit confirmed vault deposits once each, record withdrawals, refund expired
    vouchers. Idempotent (a replayed or re-run event credits nothing twice) and never raises on an outage:
    the cursor stays in the database and the next tick goes on from it."""
    from modelfactory.vault.watch import vault_watch

    run = vault_watch()
    return {
        "credited": len(run.events.credited),
        "unassigned": run.events.unassigned,
        "withdrawn": len(run.events.withdrawn),
        "refunded": run.refunded,
        "error": run.error,
    }
