"""PaymentVault: deposits in, epoch charges out to the settlement, withdrawals only with the platform's
voucher, and never below zero; an attack on each path (replay, expiry, forgery, overdraft, mismatched
debits)."""

from __future__ import annotations

import dataclasses

import pytest
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.errors import (
    ContractReverted,
    DebitsMismatch,
    InsufficientFunds,
    NotAuthorized,
    VoucherExpired,
    VoucherInvalid,
    VoucherUsed,
)
from contracts.payout_tree import PayoutTree
from contracts.records import HELD_EARNINGS_ACCOUNT, Debit, VaultFunding, record_id
from contracts.transactions import TransactionSender
from contracts.withdrawal_voucher import WithdrawalVoucher, new_nonce, sign_voucher, voucher_digest
from tests.contracts.conftest import OPEN, PAYER_KEY_INDEX, InProcessChain, deposit_into_vault

ALICE = record_id("vault-account", "alice")
BOB = record_id("vault-account", "bob")
RECEIPTS_ROOT = b"\x42" * 32


def now(chain: InProcessChain) -> int:
    return chain.web3.eth.get_block("latest")["timestamp"]


def voucher(
    chain: InProcessChain,
    *,
    account: bytes = ALICE,
    recipient_index: int = 3,
    amount: int = OPEN,
    deadline: int | None = None,
    nonce: int | None = None,
) -> WithdrawalVoucher:
    """A voucher signed by the operator, as the platform issues one after reserving the amount."""
    return chain.operator.withdrawal_voucher(
        account_id=account,
        recipient=chain.address(recipient_index),
        amount=amount,
        nonce=new_nonce() if nonce is None else nonce,
        deadline=now(chain) + 3600 if deadline is None else deadline,
    )


def raw_sender(chain: InProcessChain, index: int = 0) -> TransactionSender:
    return TransactionSender(chain.web3, Account.from_key(chain.keys[index]), rpc_url="in-process")


def vault_holds_its_balances(chain: InProcessChain) -> bool:
    vault = chain.operator.contract("PaymentVault").address
    return chain.operator.balance_of(vault) == chain.operator.vault_total_balance()


def commit(
    chain: InProcessChain,
    tree: PayoutTree,
    debits: list[Debit],
    *,
    epoch: int = 1,
    held: int = 0,
    released: int = 0,
):
    return chain.operator.commit_epoch(
        epoch=epoch,
        payouts=tree,
        receipts_root=RECEIPTS_ROOT,
        receipt_count=1,
        funding=VaultFunding(tuple(debits), held=held, released=released),
    )


# --- Deposits ---------------------------------------------------------------------------------------
def test_a_deposit_after_approve_credits_the_account_and_announces_who_paid_how_much(chain):
    result = deposit_into_vault(chain, amount=25 * OPEN, account_id=ALICE)
    second = deposit_into_vault(chain, amount=5 * OPEN, account_id=ALICE)

    depositor = chain.address(PAYER_KEY_INDEX)
    assert chain.operator.vault_balance(ALICE) == 30 * OPEN
    assert chain.operator.balance_of(depositor) == 0
    assert vault_holds_its_balances(chain)
    [event] = result.events_named("Deposited")
    assert event.args == {"account": ALICE, "from": depositor, "amount": 25 * OPEN, "depositId": 1}
    assert (event.tx_hash, event.block_number) == (result.tx_hash, result.block_number)
    assert second.events_named("Deposited")[0].args["depositId"] == 2
    logged = chain.operator.events("PaymentVault", "Deposited", argument_filters={"account": ALICE})
    assert [(e.tx_hash, e.log_index) for e in logged] == [
        (result.tx_hash, event.log_index),
        (second.tx_hash, second.events_named("Deposited")[0].log_index),
    ]


def test_a_deposit_without_an_allowance_reverts_in_the_token_and_credits_nothing(chain):
    chain.operator.mint(to=chain.address(4), amount=OPEN)
    call = chain.operator.contract("PaymentVault").functions.deposit(ALICE, OPEN)

    with pytest.raises(InsufficientFunds) as raised:
        raw_sender(chain, 4).send(call, contract="PaymentVault")

    assert raised.value.error == "ERC20InsufficientAllowance"
    assert chain.operator.vault_balance(ALICE) == 0


@pytest.mark.parametrize(
    ("account", "amount", "error"), [(bytes(32), OPEN, "ZeroAccount"), (ALICE, 0, "ZeroAmount")]
)
def test_a_deposit_to_no_account_or_of_nothing_reverts(chain, account, amount, error):
    with pytest.raises(ContractReverted) as raised:
        chain.operator.deposit(account_id=account, amount=amount)
    assert raised.value.error == error


def test_anyone_may_pay_into_any_account_and_it_is_that_accounts_money(chain):
    deposit_into_vault(chain, amount=3 * OPEN, account_id=BOB, key_index=5)
    assert chain.operator.vault_balance(BOB) == 3 * OPEN
    assert chain.operator.vault_balance(ALICE) == 0


# --- Withdrawals ------------------------------------------------------------------------------------
def test_a_voucher_pays_its_recipient_from_the_accounts_balance_whoever_sends_it(chain):
    deposit_into_vault(chain, amount=10 * OPEN, account_id=ALICE)
    signed = voucher(chain, amount=4 * OPEN)

    result = chain.client_for(6).withdraw(signed)

    assert chain.operator.balance_of(chain.address(3)) == 4 * OPEN
    assert chain.operator.vault_balance(ALICE) == 6 * OPEN
    assert chain.operator.nonce_used(signed.nonce)
    assert vault_holds_its_balances(chain)
    [event] = result.events_named("Withdrawn")
    assert event.args == {
        "account": ALICE,
        "recipient": chain.address(3),
        "amount": 4 * OPEN,
        "nonce": signed.nonce,
    }


def test_a_voucher_replayed_is_refused_and_pays_nothing_twice(chain):
    deposit_into_vault(chain, amount=10 * OPEN, account_id=ALICE)
    signed = voucher(chain, amount=4 * OPEN)
    chain.operator.withdraw(signed)

    with pytest.raises(VoucherUsed) as raised:
        chain.client_for(3).withdraw(signed)

    assert raised.value.arguments == {"nonce": signed.nonce}
    assert chain.operator.balance_of(chain.address(3)) == 4 * OPEN
    assert chain.operator.vault_balance(ALICE) == 6 * OPEN


def test_a_new_voucher_with_a_spent_nonce_is_refused_too(chain):
    """The nonce, not the signature, is what is spent: a re-signed voucher cannot reuse it."""
    deposit_into_vault(chain, amount=10 * OPEN, account_id=ALICE)
    first = voucher(chain, amount=OPEN)
    chain.operator.withdraw(first)

    with pytest.raises(VoucherUsed):
        chain.operator.withdraw(voucher(chain, amount=2 * OPEN, nonce=first.nonce))


def test_an_expired_voucher_is_refused_and_its_nonce_stays_provably_unused(chain):
    deposit_into_vault(chain, amount=10 * OPEN, account_id=ALICE)
    signed = voucher(chain, deadline=now(chain) + 60)
    chain.provider.ethereum_tester.time_travel(signed.deadline + 1)
    chain.provider.ethereum_tester.mine_blocks(1)

    with pytest.raises(VoucherExpired) as raised:
        chain.operator.withdraw(signed)

    assert raised.value.arguments["deadline"] == signed.deadline
    assert not chain.operator.nonce_used(signed.nonce)
    assert chain.operator.block_timestamp() > signed.deadline, "what the platform checks before refunding"
    assert chain.operator.vault_balance(ALICE) == 10 * OPEN


def test_a_voucher_above_the_balance_is_refused_even_though_the_platform_signed_it(chain):
    deposit_into_vault(chain, amount=OPEN, account_id=ALICE)

    with pytest.raises(InsufficientFunds) as raised:
        chain.operator.withdraw(voucher(chain, amount=OPEN + 1))

    assert raised.value.error == "WithdrawalExceedsBalance"
    assert raised.value.arguments == {"account": ALICE, "balance": OPEN, "amount": OPEN + 1}
    assert chain.operator.vault_balance(ALICE) == OPEN


def test_a_voucher_for_one_account_cannot_draw_on_another(chain):
    deposit_into_vault(chain, amount=10 * OPEN, account_id=BOB)
    with pytest.raises(InsufficientFunds):
        chain.operator.withdraw(voucher(chain, account=ALICE, amount=OPEN))
    assert chain.operator.vault_balance(BOB) == 10 * OPEN


@pytest.mark.parametrize(
    "tampering",
    [
        "amount raised",
        "recipient swapped",
        "account swapped",
        "deadline extended",
        "signed by a stranger",
        "signed for another chain",
        "signed for another vault",
        "garbage signature",
    ],
)
def test_a_forged_or_altered_voucher_is_refused(chain, tampering):
    deposit_into_vault(chain, amount=10 * OPEN, account_id=ALICE)
    deposit_into_vault(chain, amount=10 * OPEN, account_id=BOB)
    genuine = voucher(chain, amount=OPEN)
    fields = {
        "chain_id": genuine.chain_id,
        "vault": genuine.vault,
        "account": genuine.account,
        "recipient": genuine.recipient,
        "amount": genuine.amount,
        "nonce": genuine.nonce,
        "deadline": genuine.deadline,
    }
    forged = {
        "amount raised": lambda: dataclasses.replace(genuine, amount=9 * OPEN),
        "recipient swapped": lambda: dataclasses.replace(genuine, recipient=chain.address(5)),
        "account swapped": lambda: dataclasses.replace(genuine, account=BOB),
        "deadline extended": lambda: dataclasses.replace(genuine, deadline=genuine.deadline + 10**6),
        "signed by a stranger": lambda: sign_voucher(signer_key=chain.keys[5], **fields),
        "signed for another chain": lambda: dataclasses.replace(
            sign_voucher(signer_key=chain.keys[0], **{**fields, "chain_id": 1}), chain_id=genuine.chain_id
        ),
        "signed for another vault": lambda: sign_voucher(
            signer_key=chain.keys[0], **{**fields, "vault": chain.address(9)}
        ),
        "garbage signature": lambda: dataclasses.replace(genuine, signature=b"\x01" * 64),
    }[tampering]()

    with pytest.raises(VoucherInvalid):
        chain.client_for(5).withdraw(forged)

    assert chain.operator.vault_balance(ALICE) == chain.operator.vault_balance(BOB) == 10 * OPEN
    assert not chain.operator.nonce_used(genuine.nonce)


def test_the_python_voucher_digest_is_the_contracts(chain):
    signed = voucher(chain, amount=7)
    on_chain = (
        chain.operator.contract("PaymentVault")
        .functions.withdrawalDigest(
            signed.account, signed.recipient, signed.amount, signed.nonce, signed.deadline
        )
        .call()
    )
    assert bytes(on_chain) == voucher_digest(
        chain_id=signed.chain_id,
        vault=signed.vault,
        account=signed.account,
        recipient=signed.recipient,
        amount=signed.amount,
        nonce=signed.nonce,
        deadline=signed.deadline,
    )


@pytest.mark.parametrize(("recipient_zero", "amount"), [(True, OPEN), (False, 0)])
def test_a_voucher_to_nobody_or_for_nothing_is_refused(chain, recipient_zero, amount):
    deposit_into_vault(chain, amount=OPEN, account_id=ALICE)
    signed = voucher(chain, amount=amount)
    if recipient_zero:
        signed = sign_voucher(
            signer_key=chain.keys[0],
            chain_id=signed.chain_id,
            vault=signed.vault,
            account=ALICE,
            recipient="0x" + "00" * 20,
            amount=amount,
            nonce=signed.nonce,
            deadline=signed.deadline,
        )
    with pytest.raises(ContractReverted) as raised:
        chain.operator.withdraw(signed)
    assert raised.value.error == ("ZeroAddress" if recipient_zero else "ZeroAmount")


# --- Epoch charges ----------------------------------------------------------------------------------
def test_an_epoch_is_paid_from_the_charged_accounts_exactly(chain):
    deposit_into_vault(chain, amount=10 * OPEN, account_id=ALICE)
    deposit_into_vault(chain, amount=10 * OPEN, account_id=BOB)
    tree = PayoutTree({chain.address(1): 3 * OPEN, chain.address(2): OPEN + 5})
    settlement = chain.operator.contract("AttributionSettlement").address

    result = commit(chain, tree, [Debit(ALICE, 3 * OPEN), Debit(BOB, OPEN + 5)])

    assert chain.operator.vault_balance(ALICE) == 7 * OPEN
    assert chain.operator.vault_balance(BOB) == 9 * OPEN - 5
    assert chain.operator.balance_of(settlement) == tree.total
    assert vault_holds_its_balances(chain)
    charged = {event.args["account"]: event.args["amount"] for event in result.events_named("Charged")}
    assert charged == {ALICE: 3 * OPEN, BOB: OPEN + 5}
    [summary] = result.events_named("EpochCharged")
    assert summary.args == {"epoch": 1, "total": tree.total, "debitCount": 2, "held": 0, "released": 0}


@pytest.mark.parametrize("difference", [-1, +1])
def test_a_commit_whose_debits_do_not_add_up_to_the_total_is_refused(chain, difference):
    deposit_into_vault(chain, amount=10 * OPEN, account_id=ALICE)
    tree = PayoutTree({chain.address(1): 3 * OPEN})
    block = chain.web3.eth.block_number

    with pytest.raises(DebitsMismatch) as raised:
        commit(chain, tree, [Debit(ALICE, 3 * OPEN + difference)])

    assert raised.value.arguments == {
        "debited": 3 * OPEN + difference,
        "held": 0,
        "released": 0,
        "total": 3 * OPEN,
    }
    assert chain.web3.eth.block_number == block, "refused in simulation: nothing sent"
    assert chain.operator.last_committed_epoch() == 0
    assert chain.operator.vault_balance(ALICE) == 10 * OPEN


def test_a_commit_that_charges_an_account_more_than_it_holds_is_refused(chain):
    deposit_into_vault(chain, amount=OPEN, account_id=ALICE)
    deposit_into_vault(chain, amount=10 * OPEN, account_id=BOB)
    tree = PayoutTree({chain.address(1): 2 * OPEN})

    with pytest.raises(InsufficientFunds) as raised:
        commit(chain, tree, [Debit(ALICE, 2 * OPEN)])

    assert raised.value.arguments == {"account": ALICE, "balance": OPEN, "amount": 2 * OPEN}
    assert chain.operator.vault_balance(BOB) == 10 * OPEN


def test_an_account_listed_twice_cannot_be_charged_beyond_its_balance(chain):
    deposit_into_vault(chain, amount=OPEN, account_id=ALICE)
    deposit_into_vault(chain, amount=OPEN, account_id=BOB)
    tree = PayoutTree({chain.address(1): 2 * OPEN})

    with pytest.raises(InsufficientFunds):
        commit(chain, tree, [Debit(ALICE, OPEN), Debit(ALICE, OPEN)])

    assert chain.operator.vault_balance(ALICE) == OPEN


def test_an_epoch_with_no_debits_cannot_be_paid_from_the_vault_or_the_operator(chain):
    chain.operator.mint(to=chain.operator_address, amount=100 * OPEN)
    with pytest.raises(DebitsMismatch):
        commit(chain, PayoutTree({chain.address(1): OPEN}), [])
    assert chain.operator.balance_of(chain.operator_address) == 100 * OPEN


def test_shares_held_for_people_without_a_wallet_wait_in_the_vault_until_a_later_epoch_releases_them(chain):
    deposit_into_vault(chain, amount=10 * OPEN, account_id=ALICE)
    settlement = chain.operator.contract("AttributionSettlement").address
    # Epoch 1: Alice paid 3 OPEN; 1 OPEN of it is a contributor's share held until they prove a wallet.
    commit(chain, PayoutTree({chain.address(1): 2 * OPEN}), [Debit(ALICE, 3 * OPEN)], held=OPEN)
    assert chain.operator.held_earnings() == OPEN
    assert chain.operator.balance_of(settlement) == 2 * OPEN
    assert vault_holds_its_balances(chain)

    # Epoch 2: Alice paid 1 OPEN more, and the held share is paid to the contributor's new wallet.
    result = commit(
        chain,
        PayoutTree({chain.address(1): OPEN, chain.address(2): OPEN}),
        [Debit(ALICE, OPEN)],
        epoch=2,
        released=OPEN,
    )

    assert chain.operator.held_earnings() == 0
    assert chain.operator.vault_balance(ALICE) == 6 * OPEN
    assert chain.operator.balance_of(settlement) == 4 * OPEN
    assert vault_holds_its_balances(chain)
    assert result.events_named("EpochCharged")[0].args["released"] == OPEN


def test_an_epoch_cannot_release_more_than_earlier_epochs_held(chain):
    deposit_into_vault(chain, amount=10 * OPEN, account_id=ALICE)
    commit(chain, PayoutTree({chain.address(1): OPEN}), [Debit(ALICE, 2 * OPEN)], held=OPEN)

    with pytest.raises(DebitsMismatch) as raised:
        commit(
            chain, PayoutTree({chain.address(2): 3 * OPEN}), [Debit(ALICE, OPEN)], epoch=2, released=2 * OPEN
        )

    assert raised.value.error == "ReleaseExceedsHeld"
    assert chain.operator.held_earnings() == OPEN


def test_an_epoch_cannot_release_what_it_holds_itself(chain):
    """Releases come from earlier epochs only: holding and releasing in one commit would let a tree pay
    more than was charged now while reporting it as a release."""
    deposit_into_vault(chain, amount=10 * OPEN, account_id=ALICE)
    with pytest.raises(DebitsMismatch):
        commit(chain, PayoutTree({chain.address(1): OPEN}), [Debit(ALICE, OPEN)], held=OPEN, released=OPEN)


@pytest.mark.parametrize("action", ["deposit into", "withdraw from"])
def test_nobody_can_deposit_into_or_withdraw_from_the_held_earnings(chain, action):
    deposit_into_vault(chain, amount=10 * OPEN, account_id=ALICE)
    commit(chain, PayoutTree({chain.address(1): OPEN}), [Debit(ALICE, 2 * OPEN)], held=OPEN)

    attempt = {
        "deposit into": lambda: chain.operator.deposit(account_id=HELD_EARNINGS_ACCOUNT, amount=OPEN),
        "withdraw from": lambda: chain.operator.withdraw(
            voucher(chain, account=HELD_EARNINGS_ACCOUNT, amount=OPEN)
        ),
    }[action]
    with pytest.raises(ContractReverted) as raised:
        attempt()

    assert raised.value.error == "HeldEarningsAccount"
    assert chain.operator.held_earnings() == OPEN


@pytest.mark.parametrize("who", ["the operator", "a stranger"])
def test_only_the_settlement_contract_may_move_charges_out_of_the_vault(chain, who):
    deposit_into_vault(chain, amount=10 * OPEN, account_id=ALICE)
    call = chain.operator.contract("PaymentVault").functions.chargeEpoch(1, ([(ALICE, OPEN)], 0, 0), OPEN)

    with pytest.raises(NotAuthorized):
        raw_sender(chain, 0 if who == "the operator" else 5).send(call, contract="PaymentVault")

    assert chain.operator.vault_balance(ALICE) == 10 * OPEN


def test_after_charges_only_the_rest_can_be_withdrawn(chain):
    deposit_into_vault(chain, amount=10 * OPEN, account_id=ALICE)
    commit(chain, PayoutTree({chain.address(1): 4 * OPEN}), [Debit(ALICE, 4 * OPEN)])

    with pytest.raises(InsufficientFunds):
        chain.operator.withdraw(voucher(chain, amount=6 * OPEN + 1))
    chain.operator.withdraw(voucher(chain, amount=6 * OPEN))

    assert chain.operator.vault_balance(ALICE) == 0
    assert vault_holds_its_balances(chain)


# --- Property: whatever happens, no balance goes negative and the vault holds every balance ----------
operation = st.one_of(
    st.tuples(st.just("deposit"), st.sampled_from([ALICE, BOB]), st.integers(1, 50)),
    st.tuples(st.just("withdraw"), st.sampled_from([ALICE, BOB]), st.integers(1, 60)),
    st.tuples(st.just("charge"), st.integers(0, 60), st.integers(0, 60)),
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(operation, min_size=1, max_size=8))
def test_any_sequence_of_deposits_withdrawals_and_charges_keeps_the_books_exact(chain, operations):
    tester = chain.provider.ethereum_tester
    snapshot = tester.take_snapshot()
    try:
        expected = {ALICE: 0, BOB: 0}
        epoch = 0
        for kind, first, second in operations:
            if kind == "deposit":
                deposit_into_vault(chain, amount=second, account_id=first)
                expected[first] += second
            elif kind == "withdraw":
                try:
                    chain.operator.withdraw(voucher(chain, account=first, amount=second))
                    expected[first] -= second
                except InsufficientFunds:
                    assert second > expected[first]
            else:
                debits = [Debit(ALICE, first), Debit(BOB, second)]
                total = first + second
                if total == 0:
                    continue
                try:
                    commit(chain, PayoutTree({chain.address(1): total}), debits, epoch=epoch + 1)
                    epoch += 1
                    expected[ALICE] -= first
                    expected[BOB] -= second
                except InsufficientFunds:
                    assert first > expected[ALICE] or second > expected[BOB]
            assert min(expected.values()) >= 0
            assert {a: chain.operator.vault_balance(a) for a in expected} == expected
            assert vault_holds_its_balances(chain)
    finally:
        tester.revert_to_snapshot(snapshot)
