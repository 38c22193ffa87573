"""Handing the admin and minter roles to a cold key: the hot operator keeps only registering and committing,
every grant is on chain before anything is renounced, and a run that stopped anywhere is finished by
running it again."""

from __future__ import annotations

import dataclasses

import pytest
from eth_account import Account

from contracts.chain_client import ChainClient
from contracts.errors import ChainUnavailable, NotAuthorized, OperatorNotAdmin, VoucherInvalid
from contracts.merkle_tree import bytes32_root
from contracts.payout_tree import PayoutTree
from contracts.records import AccessPolicy, DatanetVersionRef, Debit, VaultFunding, record_id
from contracts.role_handover import (
    ZERO_ADDRESS,
    HandOverRefused,
    format_role_holdings,
    hand_over_plan,
    hand_over_roles,
    role_holdings,
)
from contracts.transactions import TransactionSender
from contracts.withdrawal_voucher import new_nonce
from tests.contracts.conftest import OPEN, PAYER, InProcessChain, deposit_into_vault

ADMIN, MINTER, SIGNER, NEW_OPERATOR = 5, 6, 8, 9  # indexes of pre-funded accounts; 0 is the operator
DATANET = record_id("datanet", "handed-over")
ROWS_ROOT = bytes32_root([bytes([n]) * 32 for n in range(1, 4)])

# Who holds what once the hand-over is done: the operator keeps registering and committing only.
HANDED_OVER = {
    ("OpenToken", "DEFAULT_ADMIN_ROLE"): ("admin",),
    ("OpenToken", "MINTER_ROLE"): ("minter",),
    ("DatanetRegistry", "DEFAULT_ADMIN_ROLE"): ("admin",),
    ("DatanetRegistry", "REGISTRAR_ROLE"): ("operator",),
    ("ModelRegistry", "DEFAULT_ADMIN_ROLE"): ("admin",),
    ("ModelRegistry", "REGISTRAR_ROLE"): ("operator",),
    ("PaymentVault", "DEFAULT_ADMIN_ROLE"): ("admin",),
    ("PaymentVault", "SIGNER_ROLE"): ("voucher signer",),
    ("PaymentVault", "SETTLEMENT_ROLE"): ("settlement contract",),
    ("AttributionSettlement", "DEFAULT_ADMIN_ROLE"): ("admin",),
    ("AttributionSettlement", "OPERATOR_ROLE"): ("operator",),
}


class StopsAfter(TransactionSender):
    """The operator's sender, whose process dies (the node stops answering) after `sends` transactions."""

    def __init__(self, chain: InProcessChain, sends: int) -> None:
        super().__init__(chain.web3, Account.from_key(chain.keys[0]), rpc_url="in-process")
        self.sends_left = sends

    def send(self, call, *, contract: str):
        if self.sends_left == 0:
            raise ChainUnavailable("the process stopped here")
        self.sends_left -= 1
        return super().send(call, contract=contract)


def operator_sender(chain: InProcessChain, index: int = 0) -> TransactionSender:
    return TransactionSender(chain.web3, Account.from_key(chain.keys[index]), rpc_url="in-process")


def hand_over(chain: InProcessChain, sender: TransactionSender | None = None, **addresses: str):
    arguments = {
        "admin": chain.address(ADMIN),
        "minter": chain.address(MINTER),
        "voucher_signer": chain.address(SIGNER),
        **addresses,
    }
    return hand_over_roles(sender or operator_sender(chain), chain.deployment, **arguments)


def holdings(chain: InProcessChain) -> dict[tuple[str, str], tuple[str, ...]]:
    accounts = {
        "operator": chain.operator_address,
        "admin": chain.address(ADMIN),
        "minter": chain.address(MINTER),
        "voucher signer": chain.address(SIGNER),
        "settlement contract": chain.deployment.address_of("AttributionSettlement"),
    }
    return {
        (holding.contract, holding.role): holding.holders
        for holding in role_holdings(chain.web3, chain.deployment, accounts)
    }


def commit_first_epoch(client: ChainClient, chain: InProcessChain) -> None:
    tree = PayoutTree({chain.address(1): 3 * OPEN, chain.address(2): OPEN})
    client.commit_epoch(
        epoch=1,
        payouts=tree,
        receipts_root=ROWS_ROOT,
        receipt_count=2,
        funding=VaultFunding(debits=(Debit(PAYER, tree.total),)),
    )


def test_before_hand_over_the_operator_holds_every_role(chain):
    roles = holdings(chain)
    assert all("operator" in holders for key, holders in roles.items() if key[1] != "SETTLEMENT_ROLE")
    assert roles[("PaymentVault", "SETTLEMENT_ROLE")] == ("settlement contract",)


def test_hand_over_gives_admin_minting_and_signing_away_and_leaves_the_operator_registering_and_committing(
    chain,
):
    sent = hand_over(chain)

    assert holdings(chain) == HANDED_OVER
    grants = [step for step in sent if step.action == "grant"]
    assert len(grants) == 7  # admin on all five, the minter, the voucher signer
    first_renouncement = next(i for i, step in enumerate(sent) if step.action == "renounce")
    assert all(step.action == "renounce" for step in sent[first_renouncement:]), "every grant comes first"
    assert {(s.contract, s.role) for s in sent[first_renouncement:]} == {
        ("OpenToken", "MINTER_ROLE"),
        ("PaymentVault", "SIGNER_ROLE"),
        *((name, "DEFAULT_ADMIN_ROLE") for name in chain.deployment.addresses),
    }


def test_after_hand_over_the_operator_can_commit_epochs_and_register_but_cannot_mint_or_grant_roles(chain):
    deposit_into_vault(chain, amount=100 * OPEN)  # minted while the operator still could
    hand_over(chain)
    operator = chain.operator

    commit_first_epoch(operator, chain)
    operator.register_datanet(datanet_id=DATANET, owner=chain.address(1), name="After hand-over")
    operator.publish_datanet_version(datanet_id=DATANET, version=1, rows_root=ROWS_ROOT, row_count=3)
    operator.register_adapter(
        adapter_id=record_id("adapter", "after"),
        developer=chain.address(2),
        base_model="tiny",
        datanet_versions=[DatanetVersionRef(DATANET, 1)],
        artifact_hash=b"\xab" * 32,
        policy=AccessPolicy.PUBLIC,
    )
    assert operator.last_committed_epoch() == 1

    with pytest.raises(NotAuthorized):
        operator.mint(to=chain.operator_address, amount=OPEN)
    registry = operator.contract("DatanetRegistry")
    with pytest.raises(NotAuthorized):
        operator_sender(chain).send(
            registry.functions.grantRole(registry.functions.REGISTRAR_ROLE().call(), chain.address(3)),
            contract="DatanetRegistry",
        )
    with pytest.raises(OperatorNotAdmin, match="grantRole"):
        operator.voucher_signer_grant(chain.address(3))


def test_after_hand_over_the_cold_minter_mints_and_only_the_voucher_key_signs_withdrawals(chain):
    deposit_into_vault(chain, amount=10 * OPEN)
    hand_over(chain)

    chain.client_for(MINTER).mint(to=chain.address(4), amount=OPEN)
    assert chain.operator.balance_of(chain.address(4)) == OPEN

    def voucher_by(client: ChainClient):
        return client.withdrawal_voucher(
            account_id=PAYER,
            recipient=chain.address(4),
            amount=OPEN,
            nonce=new_nonce(),
            deadline=chain.web3.eth.get_block("latest")["timestamp"] + 3600,
        )

    with pytest.raises(VoucherInvalid):
        chain.operator.withdraw(voucher_by(chain.operator))
    signer = ChainClient(
        "in-process",
        operator_key=chain.keys[0],
        voucher_key=chain.keys[SIGNER],
        web3=chain.web3,
        deployment=chain.deployment,
    )
    signer.withdraw(voucher_by(signer))
    assert chain.operator.balance_of(chain.address(4)) == 2 * OPEN


def test_hand_over_interrupted_after_the_grants_is_finished_by_running_it_again(chain):
    with pytest.raises(ChainUnavailable):
        hand_over(chain, StopsAfter(chain, sends=7))  # every grant made, nothing renounced
    interrupted = holdings(chain)
    assert interrupted[("OpenToken", "DEFAULT_ADMIN_ROLE")] == ("operator", "admin")
    assert interrupted[("OpenToken", "MINTER_ROLE")] == ("operator", "minter")

    sent = hand_over(chain)

    assert [step.action for step in sent] == ["renounce"] * 7
    assert holdings(chain) == HANDED_OVER


@pytest.mark.parametrize("sends", [2, 9])  # among the grants; among the renouncements
def test_hand_over_stopped_anywhere_is_finished_by_running_it_again(chain, sends):
    with pytest.raises(ChainUnavailable):
        hand_over(chain, StopsAfter(chain, sends=sends))

    sent = hand_over(chain)

    assert len(sent) == 14 - sends
    assert holdings(chain) == HANDED_OVER


def test_running_a_finished_hand_over_again_sends_nothing(chain):
    hand_over(chain)
    block = chain.web3.eth.block_number

    assert hand_over(chain) == []
    assert hand_over_plan(
        chain.web3,
        chain.deployment,
        operator=chain.operator_address,
        admin=chain.address(ADMIN),
        minter=chain.address(MINTER),
        voucher_signer=chain.address(SIGNER),
    ).done
    assert chain.web3.eth.block_number == block


def test_the_plan_lists_the_grants_then_the_renouncements_and_sends_nothing(chain):
    block = chain.web3.eth.block_number
    before = holdings(chain)

    plan = hand_over_plan(
        chain.web3,
        chain.deployment,
        operator=chain.operator_address,
        admin=chain.address(ADMIN),
        voucher_signer=chain.address(SIGNER),
    )

    assert [step.action for step in plan.steps] == ["grant"] * 7 + ["renounce"] * 7
    assert all(step.account == chain.address(ADMIN) for step in plan.grants[:5])
    assert str(plan.grants[5]) == f"grant MINTER_ROLE on OpenToken to the minter {chain.address(ADMIN)}"
    assert str(plan.renouncements[0]) == (
        f"the operator {chain.operator_address} renounces MINTER_ROLE on OpenToken"
    )
    assert chain.web3.eth.block_number == block
    assert holdings(chain) == before


def test_the_minter_defaults_to_the_admin(chain):
    hand_over(chain, minter=None)
    token = chain.operator.contract("OpenToken")
    assert token.functions.hasRole(token.functions.MINTER_ROLE().call(), chain.address(ADMIN)).call()
    assert not token.functions.hasRole(token.functions.MINTER_ROLE().call(), chain.operator_address).call()


def test_with_the_operator_as_voucher_signer_it_keeps_signing(chain):
    hand_over(chain, voucher_signer=chain.operator_address)
    assert holdings(chain)[("PaymentVault", "SIGNER_ROLE")] == ("operator",)
    assert holdings(chain)[("PaymentVault", "DEFAULT_ADMIN_ROLE")] == ("admin",)


def test_hand_over_refuses_the_operator_as_the_cold_admin(chain):
    block = chain.web3.eth.block_number
    with pytest.raises(HandOverRefused, match="not the operator"):
        hand_over(chain, admin=chain.operator_address)
    with pytest.raises(HandOverRefused, match="not the operator"):
        hand_over(chain, minter=chain.operator_address)
    assert chain.web3.eth.block_number == block


@pytest.mark.parametrize("role", ["admin", "minter", "voucher_signer"])
def test_hand_over_refuses_the_zero_address(chain, role):
    with pytest.raises(HandOverRefused, match="zero address"):
        hand_over(chain, **{role: ZERO_ADDRESS})
    assert all(
        "operator" in holders for key, holders in holdings(chain).items() if key[1] != "SETTLEMENT_ROLE"
    )


def test_hand_over_refuses_a_deployment_that_is_not_live(chain):
    elsewhere = dataclasses.replace(chain.deployment, chain_id=chain.deployment.chain_id + 1)
    with pytest.raises(HandOverRefused, match="not live"):
        hand_over_roles(
            operator_sender(chain),
            elsewhere,
            admin=chain.address(ADMIN),
            voucher_signer=chain.address(SIGNER),
        )


def test_a_second_hand_over_to_another_admin_is_refused_before_anything_is_sent(chain):
    hand_over(chain)
    block = chain.web3.eth.block_number
    with pytest.raises(HandOverRefused, match="only its admin can grant it"):
        hand_over(chain, admin=chain.address(3))
    assert chain.web3.eth.block_number == block


def test_the_cold_admin_can_grant_the_operator_role_to_a_new_hot_key(chain):
    deposit_into_vault(chain, amount=100 * OPEN)
    hand_over(chain)
    admin = operator_sender(chain, ADMIN)
    settlement = chain.operator.contract("AttributionSettlement")
    registry = chain.operator.contract("DatanetRegistry")
    operator_role = settlement.functions.OPERATOR_ROLE().call()
    registrar_role = registry.functions.REGISTRAR_ROLE().call()

    admin.send(settlement.functions.grantRole(operator_role, chain.address(NEW_OPERATOR)), contract="x")
    admin.send(registry.functions.grantRole(registrar_role, chain.address(NEW_OPERATOR)), contract="x")
    admin.send(settlement.functions.revokeRole(operator_role, chain.operator_address), contract="x")

    new_hot = chain.client_for(NEW_OPERATOR)
    commit_first_epoch(new_hot, chain)
    new_hot.register_datanet(datanet_id=DATANET, owner=chain.address(1), name="By the new key")
    assert chain.operator.last_committed_epoch() == 1
    with pytest.raises(NotAuthorized):
        commit_first_epoch(chain.operator, chain)  # the old hot key was relieved of committing


def test_the_role_table_names_the_holders_of_every_role(chain):
    hand_over(chain)
    table = format_role_holdings(
        role_holdings(
            chain.web3, chain.deployment, {"operator": chain.operator_address, "admin": chain.address(ADMIN)}
        )
    )
    lines = table.splitlines()
    assert len(lines) == len(HANDED_OVER)
    assert lines[0].split() == ["OpenToken", "DEFAULT_ADMIN_ROLE", "admin"]
    assert "(none of these)" in lines[1]  # MINTER_ROLE is the minter's, not asked about
