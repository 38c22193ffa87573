"""Development only: give a user prepaid OPEN on the local chain, the way a real user would get it.

The OPEN is minted (the operator holds the token's minter role on a development chain) to a wallet whose
key is known, then approved and deposited into the user's vault account by that wallet, and credited by
the same watcher as any deposit. The wallet is the user's own when it is one of anvil's development
accounts, else anvil's account 9 (`DEVELOPMENT_DEPOSITOR_KEY`): a user's generated development wallet has no
key, and anyone may pay into anyone's vault account. `make run` funds the demo user this way
(`manage.py deploy_contracts`), so the playground answers at once and the demo user pays for it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings

from contracts.chain_client import ChainClient
from contracts.development_accounts import DEVELOPMENT_DEPOSITOR_KEY, address_of
from modelfactory.billing.selectors import deposit_credited
from modelfactory.ledger.chain import development_key_for, settlement_client
from modelfactory.vault.account_services import account_id_bytes, vault_account_get_or_create
from modelfactory.vault.deposit_services import deposit_confirmations, vault_events_sync


class DemoFundingRefused(Exception):
    """Minting deposits is for a development chain only."""


@dataclass(frozen=True)
class DemoDeposit:
    tx_hash: str
    log_index: int
    amount: int
    sender: str
    credited: bool


def demo_deposit(
    *, user, amount: int, client: ChainClient | None = None, wait_s: float = 30.0
) -> DemoDeposit:
    """Mint, approve and deposit `amount` base units into the user's vault account, then run the watcher
    until it is credited (or `wait_s` passes: with more than one confirmation, anvil mines only when
    something is sent, and the beat watcher credits it later)."""
    if getattr(settings, "ENVIRONMENT", "development") == "production":
        raise DemoFundingRefused("demo deposits mint OPEN: development chains only")
    client = client or settlement_client()
    account = vault_account_get_or_create(user=user)
    sender_key = development_key_for(user.wallet_address or "") or DEVELOPMENT_DEPOSITOR_KEY
    client.mint(to=address_of(sender_key), amount=amount)
    result = client.deposit(account_id=account_id_bytes(account), amount=amount, sender_key=sender_key)
    [event] = result.events_named("Deposited")
    deadline = time.monotonic() + wait_s
    credited = False
    while True:
        vault_events_sync(client=client)
        credited = deposit_credited(tx_hash=event.tx_hash, log_index=event.log_index)
        if credited or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    return DemoDeposit(event.tx_hash, event.log_index, amount, address_of(sender_key), credited)


def demo_funding_ensure(*, user, amount: int, client: ChainClient) -> DemoDeposit | None:
    """`demo_deposit` once per deployment: None when the user's vault account has had a deposit on this
    chain already (so every `make run` may call it)."""
    account = vault_account_get_or_create(user=user)
    earlier = client.events(
        "PaymentVault", "Deposited", argument_filters={"account": account_id_bytes(account)}
    )
    if earlier:
        return None
    return demo_deposit(
        user=user, amount=amount, client=client, wait_s=5.0 if deposit_confirmations() > 1 else 30.0
    )
