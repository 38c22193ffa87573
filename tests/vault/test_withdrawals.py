"""Withdrawals: signed only after the amount left the balance, paid once to the proven wallet, refunded only
when the chain proves the voucher can never be used; the vault and the ledger agree throughout."""

from __future__ import annotations

import pytest

from contracts.development_accounts import ANVIL_KEYS, address_of
from contracts.errors import VoucherExpired
from modelfactory.billing.errors import InsufficientBalance
from modelfactory.billing.selectors import balance_of
from modelfactory.ledger.services import epoch_close_and_commit
from modelfactory.vault.account_services import account_id_bytes
from modelfactory.vault.deposit_services import vault_events_sync
from modelfactory.vault.models import WithdrawalVoucher
from modelfactory.vault.watch import vault_watch
from modelfactory.vault.withdrawal_services import (
    VOUCHER_LIFETIME_S,
    WithdrawalRefused,
    signed_voucher,
    withdrawal_voucher_issue,
    withdrawal_vouchers_expire,
)
from tests.ledger.conftest import OPEN
from tests.support.factories import make_user
from tests.support.paid_answers import paid_answer, vault_deposit

pytestmark = pytest.mark.django_db

WALLET_KEY = ANVIL_KEYS[5]


@pytest.fixture
def saver(chain):
    """A user with a proven wallet and 10 OPEN deposited and credited."""
    user = make_user("saver")
    user.wallet_address, user.wallet_verified = address_of(WALLET_KEY), True
    user.save()
    vault_deposit(chain, user=user, amount=10 * OPEN)
    return user


def on_chain(chain, user) -> int:
    return chain.vault_balance(account_id_bytes(user.vault_account))


def pass_time(chain, seconds: int) -> None:
    chain.web3.provider.make_request("evm_increaseTime", [seconds])
    chain.web3.provider.make_request("evm_mine", [])


def test_a_withdrawal_is_paid_to_the_proven_wallet_and_both_books_agree(chain, saver):
    wallet_before = chain.balance_of(saver.wallet_address)

    voucher = withdrawal_voucher_issue(user=saver, amount=4 * OPEN, client=chain)

    assert balance_of(saver).available == 6 * OPEN, "the amount leaves the balance before anything is signed"
    assert on_chain(chain, saver) == 10 * OPEN
    chain.withdraw(signed_voucher(voucher), sender_key=WALLET_KEY)  # the user's wallet sends it
    run = vault_events_sync(client=chain)

    voucher.refresh_from_db()
    assert run.withdrawn == [int(voucher.nonce)]
    assert voucher.status == WithdrawalVoucher.Status.WITHDRAWN
    assert voucher.tx_hash.startswith("0x")
    assert chain.balance_of(saver.wallet_address) == wallet_before + 4 * OPEN
    assert on_chain(chain, saver) == balance_of(saver).available == 6 * OPEN


def test_a_withdrawal_above_the_available_balance_is_refused_and_nothing_is_signed(chain, saver):
    with pytest.raises(InsufficientBalance):
        withdrawal_voucher_issue(user=saver, amount=10 * OPEN + 1, client=chain)
    assert not WithdrawalVoucher.objects.exists()
    assert balance_of(saver).available == 10 * OPEN


def test_without_a_proven_wallet_nothing_is_signed(chain):
    generated = make_user("generated")  # every account starts with a development address nobody holds
    vault_deposit(chain, user=generated, amount=OPEN)

    with pytest.raises(WithdrawalRefused, match="Prove a wallet"):
        withdrawal_voucher_issue(user=generated, amount=OPEN, client=chain)

    assert balance_of(generated).available == OPEN


def test_an_unsent_voucher_is_refunded_once_after_its_deadline_and_can_never_be_withdrawn(chain, saver):
    voucher = withdrawal_voucher_issue(user=saver, amount=3 * OPEN, client=chain)
    assert withdrawal_vouchers_expire(client=chain) == [], "not before its deadline"

    pass_time(chain, VOUCHER_LIFETIME_S + 60)
    refunded = withdrawal_vouchers_expire(client=chain)
    again = withdrawal_vouchers_expire(client=chain)

    assert [v.pk for v in refunded] == [voucher.pk]
    assert again == []
    voucher.refresh_from_db()
    assert voucher.status == WithdrawalVoucher.Status.REFUNDED
    assert balance_of(saver).available == 10 * OPEN
    with pytest.raises(VoucherExpired):
        chain.withdraw(signed_voucher(voucher), sender_key=WALLET_KEY)
    assert on_chain(chain, saver) == 10 * OPEN


def test_a_voucher_is_not_refunded_until_a_confirmed_block_is_past_its_deadline(chain, saver):
    voucher = withdrawal_voucher_issue(user=saver, amount=3 * OPEN, client=chain)
    pass_time(chain, VOUCHER_LIFETIME_S + 60)  # only the newest block is past the deadline

    assert withdrawal_vouchers_expire(client=chain, confirmations=3) == []
    chain.web3.provider.make_request("anvil_mine", ["0x2"])
    assert [v.pk for v in withdrawal_vouchers_expire(client=chain, confirmations=3)] == [voucher.pk]


def test_a_voucher_sent_before_its_deadline_is_not_refunded(chain, saver):
    voucher = withdrawal_voucher_issue(user=saver, amount=3 * OPEN, client=chain)
    chain.withdraw(signed_voucher(voucher), sender_key=WALLET_KEY)
    pass_time(chain, VOUCHER_LIFETIME_S + 60)

    assert withdrawal_vouchers_expire(client=chain) == []  # the nonce was spent on chain

    voucher.refresh_from_db()
    assert voucher.status == WithdrawalVoucher.Status.WITHDRAWN
    assert balance_of(saver).available == on_chain(chain, saver) == 7 * OPEN
    vault_watch(client=chain)
    voucher.refresh_from_db()
    assert voucher.tx_hash.startswith("0x"), "the watcher fills in the transaction"


def test_charges_waiting_for_settlement_can_be_neither_withdrawn_nor_lost(chain, saver, base_model):
    for tokens in (100, 200, 300):
        paid_answer(published=base_model, user=saver, tokens_in=tokens, tokens_out=tokens)
    spendable = balance_of(saver).available
    charged = 10 * OPEN - spendable
    assert charged > 0

    with pytest.raises(InsufficientBalance):
        withdrawal_voucher_issue(user=saver, amount=spendable + 1, client=chain)
    voucher = withdrawal_voucher_issue(user=saver, amount=spendable, client=chain)
    chain.withdraw(signed_voucher(voucher), sender_key=WALLET_KEY)
    assert on_chain(chain, saver) == charged, "what was charged stays in the vault for the epoch"

    run = epoch_close_and_commit(client=chain)

    assert (run.committed, run.error) == ([1], "")
    assert on_chain(chain, saver) == balance_of(saver).available == 0
    assert chain.epoch(1).total == charged


def test_a_voucher_key_of_its_own_signs_once_granted_and_the_web_process_needs_no_operator_key(
    chain, saver, settings
):
    from contracts.errors import OperatorKeyMissing, VoucherInvalid
    from modelfactory.ledger.chain import voucher_client

    settings.MODELFACTORY_VOUCHER_KEY = ANVIL_KEYS[7]
    web = voucher_client()  # what the web process signs with

    ungranted = withdrawal_voucher_issue(user=saver, amount=OPEN, client=web)
    with pytest.raises(VoucherInvalid):
        chain.withdraw(signed_voucher(ungranted), sender_key=WALLET_KEY)
    assert chain.voucher_signer_grant(address_of(ANVIL_KEYS[7]))
    assert not chain.voucher_signer_grant(address_of(ANVIL_KEYS[7]))  # granted once
    granted = withdrawal_voucher_issue(user=saver, amount=2 * OPEN, client=web)
    chain.withdraw(signed_voucher(granted), sender_key=WALLET_KEY)

    assert on_chain(chain, saver) == 8 * OPEN
    with pytest.raises(OperatorKeyMissing):
        web.operator_address  # noqa: B018 - the web's client holds no operator key at all
