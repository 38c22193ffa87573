"""Prepaid OPEN for test users, credited as the chain watcher would credit a deposit.

Tests about answers, pages or the API are not about the chain, so they fund their users with a
deposit event that never happened (a random transaction hash); tests of deposits use the real chain.
"""

from __future__ import annotations

import secrets

from modelfactory.billing.services import deposit_credit

OPEN = 10**18
TEST_FUNDS = 100 * OPEN
"""Enough for thousands of test answers at the platform's default rates."""


def fake_tx_hash() -> str:
    return "0x" + secrets.token_hex(32)


def fund(user, amount: int = TEST_FUNDS) -> None:
    """Credit `amount` base units to the user's balance as one (fictitious) chain deposit."""
    assert deposit_credit(user=user, amount=amount, tx_hash=fake_tx_hash(), log_index=0, block_number=1)
