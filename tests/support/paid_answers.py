"""Answers paid for as the platform pays for them, on a real chain: OPEN deposited into the user's vault
account and credited by the watcher, then each answer reserved, recorded and charged.

For tests of settlement and of the money loop, where an epoch is committed only when its receipts were
charged to balances that the vault holds on chain (tests/support/funding.py credits balances without a
chain, for tests that never settle).
"""

from __future__ import annotations

from django.db import transaction

from contracts.chain_client import ChainClient
from contracts.development_accounts import DEVELOPMENT_DEPOSITOR_KEY, address_of
from contracts.records import TxResult
from modelfactory.billing.services import answer_charge, answer_reserve
from modelfactory.catalog.models import PublishedModel
from modelfactory.ledger.models import InferenceReceipt
from modelfactory.ledger.receipt_services import receipt_record
from modelfactory.vault.account_services import account_id_bytes, vault_account_get_or_create
from modelfactory.vault.deposit_services import vault_events_sync

OPEN = 10**18


def vault_deposit(
    client: ChainClient,
    *,
    user,
    amount: int,
    sender_key: str = DEVELOPMENT_DEPOSITOR_KEY,
    credit: bool = True,
) -> TxResult:
    """Mint `amount` to the sender, deposit it into the user's vault account and (with `credit`) run the
    watcher once, as beat would, so the balance can be spent."""
    account = vault_account_get_or_create(user=user)
    client.mint(to=address_of(sender_key), amount=amount)
    result = client.deposit(account_id=account_id_bytes(account), amount=amount, sender_key=sender_key)
    if credit:
        vault_events_sync(client=client)
    return result


def paid_answer(*, published: PublishedModel, user, tokens_in: int, tokens_out: int) -> InferenceReceipt:
    """One answer as the playground and the API record it: its maximum price held before generation, then
    the receipt written and its fee charged in one transaction."""
    reservation = answer_reserve(
        user=user, published=published, tokens_in=tokens_in, tokens_out_max=tokens_out
    )
    with transaction.atomic():
        receipt = receipt_record(published=published, tokens_in=tokens_in, tokens_out=tokens_out, user=user)
        answer_charge(reservation=reservation, receipt=receipt)
    return receipt
