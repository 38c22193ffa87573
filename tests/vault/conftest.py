"""Vault fixtures: the ledger's (a real anvil node per module, fresh contracts per test, a payer, the
tiny base model published, every settlement run closing an epoch)."""

from __future__ import annotations

from tests.ledger.conftest import (  # noqa: F401  (fixtures shared with the ledger tests)
    _every_settlement_run_closes_an_epoch,
    anvil_url,
    base_model,
    chain,
    payer,
)
