"""One pass of the vault watcher (the beat task's body): credit deposits, record withdrawals, refund
expired vouchers. Safe to run at any time, twice at once, and after any crash; an unreachable node makes
it wait for the next pass, having lost nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from contracts.chain_client import ChainClient
from contracts.errors import ChainError
from modelfactory.ledger.chain import reader_client
from modelfactory.vault.deposit_services import VaultSync, vault_events_sync
from modelfactory.vault.withdrawal_services import withdrawal_vouchers_expire

logger = logging.getLogger(__name__)


@dataclass
class VaultWatch:
    events: VaultSync = field(default_factory=VaultSync)
    refunded: int = 0
    error: str = ""


def vault_watch(*, client: ChainClient | None = None, confirmations: int | None = None) -> VaultWatch:
    """Credit confirmed deposits and settle vouchers; an outage is reported in `error`, never raised."""
    run = VaultWatch()
    try:
        client = client or reader_client(timeout_s=5.0)
        run.events = vault_events_sync(client=client, confirmations=confirmations)
        run.refunded = len(withdrawal_vouchers_expire(client=client, confirmations=confirmations))
    except ChainError as error:
        run.error = f"{type(error).__name__}: {error}"
        logger.info("vault watcher waits: %s", run.error)
    return run
