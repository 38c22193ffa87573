"""AttributionSettlement: epochs committed once and in order, funded by what users were charged from their
deposits (never by the operator), and paid out exactly once per proof."""

from __future__ import annotations

import pytest
from eth_account import Account

from contracts.chain_client import ChainClient
from contracts.errors import (
    AlreadyClaimed,
    ContractReverted,
    EpochAlreadyCommitted,
    EpochOutOfOrder,
    InsufficientFunds,
    InvalidProof,
    NotAuthorized,
)
from contracts.merkle_tree import bytes32_root
from contracts.payout_tree import PayoutTree
from contracts.records import Debit, VaultFunding
from contracts.transactions import TransactionSender
from tests.contracts.conftest import OPEN, PAYER, InProcessChain, deposit_into_vault

RECEIPTS_ROOT = bytes32_root([bytes([n]) * 32 for n in range(1, 4)])


def fund_payer(chain: InProcessChain, amount: int = 1_000 * OPEN) -> None:
    """A user prepays into the vault: what every epoch below is charged to."""
    deposit_into_vault(chain, amount=amount)


def three_payouts(chain: InProcessChain) -> PayoutTree:
    return PayoutTree({chain.address(1): 7 * OPEN, chain.address(2): 2 * OPEN, chain.address(3): 1})


def commit(chain: InProcessChain, tree: PayoutTree, *, epoch: int = 1, client: ChainClient | None = None):
    client = client or chain.operator
    return client.commit_epoch(
        epoch=epoch,
        payouts=tree,
        receipts_root=RECEIPTS_ROOT,
        receipt_count=3,
        funding=VaultFunding(debits=(Debit(PAYER, tree.total),)),
    )


def test_committing_an_epoch_records_its_roots_and_moves_its_total_from_the_charged_deposits(chain):
    fund_payer(chain)
    chain.operator.mint(to=chain.operator_address, amount=50 * OPEN)
    tree = three_payouts(chain)
    settlement = chain.operator.contract("AttributionSettlement").address
    vault = chain.operator.contract("PaymentVault").address
    operator_before = chain.operator.balance_of(chain.operator_address)

    result = commit(chain, tree)

    record = chain.operator.epoch(1)
    assert (record.payout_root, record.receipts_root) == (tree.root, RECEIPTS_ROOT)
    assert (record.total, record.claimed, record.receipt_count) == (9 * OPEN + 1, 0, 3)
    assert chain.operator.last_committed_epoch() == 1
    assert chain.operator.balance_of(chain.operator_address) == operator_before, "the operator pays nothing"
    assert chain.operator.vault_balance(PAYER) == 1_000 * OPEN - tree.total
    assert chain.operator.balance_of(vault) == 1_000 * OPEN - tree.total
    assert chain.operator.balance_of(settlement) == tree.total
    [event] = result.events_named("EpochCommitted")
    assert event.args == {
        "epoch": 1,
        "payoutRoot": tree.root,
        "receiptsRoot": RECEIPTS_ROOT,
        "total": tree.total,
        "receiptCount": 3,
        "operator": chain.operator_address,
    }


def test_epochs_are_numbered_from_one_and_an_uncommitted_one_reads_as_none(chain):
    assert chain.operator.last_committed_epoch() == 0
    assert chain.operator.epoch(1) is None


def test_a_commit_by_anyone_but_the_operator_reverts_and_changes_nothing(chain):
    stranger = chain.client_for(4)
    chain.operator.mint(to=chain.address(4), amount=100 * OPEN)

    with pytest.raises(NotAuthorized) as raised:
        commit(chain, three_payouts(chain), client=stranger)

    assert raised.value.error == "AccessControlUnauthorizedAccount"
    assert raised.value.arguments["account"] == chain.address(4)
    assert chain.operator.last_committed_epoch() == 0
    assert chain.operator.balance_of(chain.address(4)) == 100 * OPEN


def test_committing_the_same_epoch_twice_reverts_and_charges_nothing_more(chain):
    fund_payer(chain)
    tree = three_payouts(chain)
    commit(chain, tree)
    balance = chain.operator.vault_balance(PAYER)

    with pytest.raises(EpochAlreadyCommitted) as raised:
        commit(chain, tree, epoch=1)

    assert raised.value.arguments == {"epoch": 1}
    assert chain.operator.vault_balance(PAYER) == balance


def test_skipping_an_epoch_reverts_and_names_the_epoch_expected_next(chain):
    fund_payer(chain)
    commit(chain, three_payouts(chain))
    block = chain.web3.eth.block_number

    with pytest.raises(EpochOutOfOrder) as raised:
        commit(chain, three_payouts(chain), epoch=3)

    assert raised.value.arguments == {"expected": 2, "given": 3}
    assert chain.web3.eth.block_number == block, "a refused commit sends no transaction, not even an approval"
    assert chain.operator.last_committed_epoch() == 1


def test_epoch_zero_counts_as_already_committed(chain):
    fund_payer(chain)
    with pytest.raises(EpochAlreadyCommitted):
        commit(chain, three_payouts(chain), epoch=0)


def test_consecutive_epochs_commit_in_order(chain):
    fund_payer(chain)
    for epoch in (1, 2, 3):
        commit(chain, three_payouts(chain), epoch=epoch)
    assert chain.operator.last_committed_epoch() == 3
    assert chain.operator.balance_of(chain.operator.contract("AttributionSettlement").address) == 3 * (
        9 * OPEN + 1
    )


def test_deposits_that_do_not_cover_the_epoch_refuse_the_commit_even_when_the_operator_is_rich(chain):
    deposit_into_vault(chain, amount=OPEN)
    chain.operator.mint(to=chain.operator_address, amount=1_000 * OPEN)
    token, settlement = chain.operator.contract("OpenToken"), chain.operator.contract("AttributionSettlement")
    _raw_sender(chain).send(token.functions.approve(settlement.address, 1_000 * OPEN), contract="OpenToken")

    with pytest.raises(InsufficientFunds) as raised:
        commit(chain, three_payouts(chain))

    assert raised.value.error == "DebitExceedsBalance"
    assert raised.value.arguments == {"account": PAYER, "balance": OPEN, "amount": 9 * OPEN + 1}
    assert chain.operator.last_committed_epoch() == 0
    assert chain.operator.balance_of(chain.operator_address) == 1_000 * OPEN


def _raw_sender(chain: InProcessChain) -> TransactionSender:
    """Sends calls the client would refuse to make, to reach the contract's own checks."""
    return TransactionSender(chain.web3, Account.from_key(chain.keys[0]), rpc_url="in-process")


def test_a_commit_with_an_empty_payout_root_reverts(chain):
    call = chain.operator.contract("AttributionSettlement").functions.commitEpoch(
        1, bytes(32), RECEIPTS_ROOT, 0, 0, ([], 0, 0)
    )
    with pytest.raises(ContractReverted) as raised:
        _raw_sender(chain).send(call, contract="AttributionSettlement")
    assert raised.value.error == "EmptyPayoutRoot"


def test_every_account_claims_its_amount_once_and_the_epoch_ends_fully_paid(chain):
    fund_payer(chain)
    tree = three_payouts(chain)
    commit(chain, tree)
    settlement = chain.operator.contract("AttributionSettlement").address

    for payout in tree.payouts():
        before = chain.operator.balance_of(payout.account)
        chain.operator.claim(epoch=1, account=payout.account, amount=payout.amount, proof=payout.proof)
        assert chain.operator.balance_of(payout.account) == before + payout.amount
        assert chain.operator.is_claimed(1, payout.account)

    record = chain.operator.epoch(1)
    assert record.claimed == record.total == tree.total
    assert record.unclaimed == 0
    assert chain.operator.balance_of(settlement) == 0


def test_a_claim_emits_who_was_paid_how_much_and_who_sent_it(chain):
    fund_payer(chain)
    tree = three_payouts(chain)
    commit(chain, tree)
    payout = tree.payout(chain.address(2))

    result = chain.client_for(5).claim(
        epoch=1, account=payout.account, amount=payout.amount, proof=payout.proof
    )

    [claimed] = result.events_named("Claimed")
    assert claimed.args == {
        "epoch": 1,
        "account": chain.address(2),
        "amount": 2 * OPEN,
        "by": chain.address(5),
    }
    [transfer] = result.events_named("Transfer")
    assert transfer.args["to"] == chain.address(2)
    assert transfer.args["value"] == 2 * OPEN


def test_anyone_may_send_a_claim_but_the_tokens_go_to_the_account(chain):
    fund_payer(chain)
    tree = three_payouts(chain)
    commit(chain, tree)
    payout = tree.payout(chain.address(1))
    sender_balance = chain.operator.balance_of(chain.address(5))

    chain.client_for(5).claim(epoch=1, account=payout.account, amount=payout.amount, proof=payout.proof)

    assert chain.operator.balance_of(chain.address(1)) == 7 * OPEN
    assert chain.operator.balance_of(chain.address(5)) == sender_balance


def test_second_claim_of_the_same_epoch_reverts_and_pays_nothing(chain):
    fund_payer(chain)
    tree = three_payouts(chain)
    commit(chain, tree)
    payout = tree.payout(chain.address(1))
    chain.operator.claim(epoch=1, account=payout.account, amount=payout.amount, proof=payout.proof)

    with pytest.raises(AlreadyClaimed) as raised:
        chain.operator.claim(epoch=1, account=payout.account, amount=payout.amount, proof=payout.proof)

    assert raised.value.arguments == {"epoch": 1, "account": chain.address(1)}
    assert chain.operator.balance_of(chain.address(1)) == 7 * OPEN
    assert chain.operator.epoch(1).claimed == 7 * OPEN


@pytest.mark.parametrize(
    "forgery",
    ["inflated amount", "another account's proof", "proof for someone not in the tree", "empty proof"],
)
def test_a_forged_proof_reverts_and_pays_nothing(chain, forgery):
    fund_payer(chain)
    tree = three_payouts(chain)
    commit(chain, tree)
    mine, theirs = tree.payout(chain.address(1)), tree.payout(chain.address(2))
    account, amount, proof = {
        "inflated amount": (mine.account, mine.amount + 1, mine.proof),
        "another account's proof": (mine.account, mine.amount, theirs.proof),
        "proof for someone not in the tree": (chain.address(6), mine.amount, mine.proof),
        "empty proof": (mine.account, mine.amount, ()),
    }[forgery]

    with pytest.raises(InvalidProof) as raised:
        chain.operator.claim(epoch=1, account=account, amount=amount, proof=proof)

    assert raised.value.arguments == {"epoch": 1, "account": account, "amount": amount}
    assert chain.operator.balance_of(account) == 0
    assert chain.operator.epoch(1).claimed == 0


def test_a_proof_from_another_epoch_does_not_pay_in_this_one(chain):
    fund_payer(chain)
    commit(chain, three_payouts(chain), epoch=1)
    second = PayoutTree({chain.address(1): 5 * OPEN, chain.address(4): OPEN})
    commit(chain, second, epoch=2)
    payout = second.payout(chain.address(1))

    with pytest.raises(InvalidProof):
        chain.operator.claim(epoch=1, account=payout.account, amount=payout.amount, proof=payout.proof)
    chain.operator.claim(epoch=2, account=payout.account, amount=payout.amount, proof=payout.proof)

    assert chain.operator.is_claimed(2, chain.address(1))
    assert not chain.operator.is_claimed(1, chain.address(1))


def test_a_claim_in_an_uncommitted_epoch_reverts(chain):
    with pytest.raises(ContractReverted) as raised:
        chain.operator.claim(epoch=1, account=chain.address(1), amount=1, proof=())
    assert raised.value.error == "UnknownEpoch"


def test_claims_never_take_more_than_the_epoch_total_even_if_the_tree_promises_more(chain):
    fund_payer(chain)
    tree = PayoutTree({chain.address(1): 5 * OPEN, chain.address(2): 5 * OPEN})
    settlement = chain.operator.contract("AttributionSettlement")
    _raw_sender(chain).send(
        settlement.functions.commitEpoch(
            1, tree.root, RECEIPTS_ROOT, 5 * OPEN, 2, ([(PAYER, 5 * OPEN)], 0, 0)
        ),
        contract="AttributionSettlement",
    )
    first, second = tree.payout(chain.address(1)), tree.payout(chain.address(2))
    chain.operator.claim(epoch=1, account=first.account, amount=first.amount, proof=first.proof)

    with pytest.raises(ContractReverted) as raised:
        chain.operator.claim(epoch=1, account=second.account, amount=second.amount, proof=second.proof)

    assert raised.value.error == "ClaimExceedsEpochTotal"
    assert raised.value.arguments == {"epoch": 1, "remaining": 0, "amount": 5 * OPEN}
    assert chain.operator.balance_of(chain.address(2)) == 0


def test_the_contract_verifies_proofs_for_the_earnings_page_without_a_transaction(chain):
    fund_payer(chain)
    tree = three_payouts(chain)
    commit(chain, tree)
    payout = tree.payout(chain.address(3))

    assert chain.operator.verify_payout(
        epoch=1, account=payout.account, amount=payout.amount, proof=payout.proof
    )
    assert not chain.operator.verify_payout(epoch=1, account=payout.account, amount=2, proof=payout.proof)
    assert not chain.operator.verify_payout(epoch=2, account=payout.account, amount=1, proof=payout.proof)


def test_proofs_from_a_larger_python_built_tree_are_accepted_by_the_contract(chain):
    fund_payer(chain)
    amounts = {chain.address(i): (i + 1) * 1_000 + i for i in range(10)}
    tree = PayoutTree(amounts)
    commit(chain, tree)

    for payout in tree.payouts():
        assert chain.operator.verify_payout(
            epoch=1, account=payout.account, amount=payout.amount, proof=payout.proof
        )
    last = tree.payout(chain.address(9))
    chain.operator.claim(epoch=1, account=last.account, amount=last.amount, proof=last.proof)
    assert chain.operator.balance_of(chain.address(9)) == 10_009


def test_past_commits_and_claims_are_readable_as_events(chain):
    fund_payer(chain)
    tree = three_payouts(chain)
    commit(chain, tree)
    payout = tree.payout(chain.address(1))
    chain.operator.claim(epoch=1, account=payout.account, amount=payout.amount, proof=payout.proof)

    [committed] = chain.operator.events("AttributionSettlement", "EpochCommitted")
    [claimed] = chain.operator.events("AttributionSettlement", "Claimed")

    assert committed.args["payoutRoot"] == tree.root
    assert (claimed.args["account"], claimed.args["amount"]) == (chain.address(1), 7 * OPEN)
