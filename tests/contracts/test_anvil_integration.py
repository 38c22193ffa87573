"""On a real anvil node: deploy, register, prepay, settle and claim; restart the node and find everything
again."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.chain_client import ChainClient, ChainUnavailable
from contracts.development_accounts import ANVIL_KEYS, DEVELOPMENT_OPERATOR_KEY, address_of
from contracts.errors import AlreadyClaimed
from contracts.fee_split import FeeRates, Parties, SplitShares, inference_fee, split_fee
from contracts.merkle_tree import bytes32_root
from contracts.payout_tree import PayoutTree
from contracts.records import AccessPolicy, DatanetVersionRef, Debit, VaultFunding, record_id
from tests.support.anvil_node import running_anvil
from tests.support.services import free_port

OPEN = 10**18
DATANET = record_id("datanet", 1)
ADAPTER = record_id("adapter", 1)
ROWS_ROOT = bytes32_root([bytes([n]) * 32 for n in range(1, 11)])
CONTRIBUTORS = [address_of(ANVIL_KEYS[1]), address_of(ANVIL_KEYS[2])]
DEVELOPER = address_of(ANVIL_KEYS[3])
PARTIES = Parties(
    developer=DEVELOPER,
    base_model_owner=address_of(ANVIL_KEYS[4]),
    compute_operator=address_of(DEVELOPMENT_OPERATOR_KEY),
    platform=address_of(DEVELOPMENT_OPERATOR_KEY),
)
SHARES = SplitShares(
    developer=4000, contributors=3000, base_model_owner=1000, compute_operator=1500, platform=500
)
RATES = FeeRates(rate_in=OPEN // 100, rate_out=3 * OPEN // 100, platform_fee=OPEN // 1000)
PAYER = record_id("vault-account", "payer")  # the user whose answers the epochs charge
PAYER_KEY = ANVIL_KEYS[4]


def epoch_payouts(receipts: list[tuple[int, int]]) -> tuple[PayoutTree, bytes]:
    """What the settlement job will do: price each receipt, split it, sum per account, build the tree."""
    owed: dict[str, int] = {}
    for tokens_in, tokens_out in receipts:
        fee = inference_fee(tokens_in=tokens_in, tokens_out=tokens_out, rates=RATES)
        split = split_fee(fee, shares=SHARES, contributor_weights={CONTRIBUTORS[0]: 7, CONTRIBUTORS[1]: 3})
        for account, amount in split.by_account(PARTIES).items():
            owed[account] = owed.get(account, 0) + amount
    receipt_hashes = [bytes([i + 1]) * 32 for i in range(len(receipts))]
    return PayoutTree(owed), bytes32_root(receipt_hashes)


def operator_client(rpc_url: str) -> ChainClient:
    return ChainClient(rpc_url, operator_key=DEVELOPMENT_OPERATOR_KEY, timeout_s=2)


def prepay(client: ChainClient, amount: int) -> None:
    client.mint(to=address_of(PAYER_KEY), amount=amount)
    client.deposit(account_id=PAYER, amount=amount, sender_key=PAYER_KEY)


def commit(client: ChainClient, *, epoch: int, tree: PayoutTree, receipts_root: bytes, receipt_count: int):
    return client.commit_epoch(
        epoch=epoch,
        payouts=tree,
        receipts_root=receipts_root,
        receipt_count=receipt_count,
        funding=VaultFunding(debits=(Debit(PAYER, tree.total),)),
    )


def test_records_claims_and_the_deployment_survive_a_node_restart(tmp_path: Path):
    var_dir, state_file, port = tmp_path / "var", tmp_path / "anvil-state.json", free_port()
    receipts = [(1200, 300), (800, 950), (40, 7)]
    tree, receipts_root = epoch_payouts(receipts)
    first, second, developer = (tree.payout(a) for a in (CONTRIBUTORS[0], CONTRIBUTORS[1], DEVELOPER))

    with running_anvil(port, log=tmp_path / "anvil-1.log", state_file=state_file) as rpc_url:
        client = operator_client(rpc_url)
        deployment = client.ensure_deployed(var_dir)
        client.register_datanet(datanet_id=DATANET, owner=CONTRIBUTORS[0], name="Medical QA")
        client.publish_datanet_version(datanet_id=DATANET, version=1, rows_root=ROWS_ROOT, row_count=10)
        client.register_adapter(
            adapter_id=ADAPTER,
            developer=DEVELOPER,
            base_model="tiny-llama-demo",
            datanet_versions=[DatanetVersionRef(DATANET, 1)],
            artifact_hash=b"\xaa" * 32,
            policy=AccessPolicy.PAY_PER_USE,
        )
        prepay(client, 100 * OPEN)
        committed = commit(client, epoch=1, tree=tree, receipts_root=receipts_root, receipt_count=3)
        client.claim(
            epoch=1, account=first.account, amount=first.amount, proof=first.proof, sender_key=ANVIL_KEYS[1]
        )
        client.claim(epoch=1, account=second.account, amount=second.amount, proof=second.proof)

    assert state_file.is_file(), "anvil did not write its state on SIGTERM"
    with pytest.raises(ChainUnavailable):
        client.last_committed_epoch()

    with running_anvil(port, log=tmp_path / "anvil-2.log", state_file=state_file) as rpc_url:
        client = operator_client(rpc_url)
        block_before = client.status().block_number
        assert client.ensure_deployed(var_dir) == deployment
        assert client.status().block_number == block_before, "the deployment was reused, not redone"

        assert client.datanet_version(DATANET, 1).rows_root == ROWS_ROOT
        assert client.adapter(ADAPTER).datanet_versions == (DatanetVersionRef(DATANET, 1),)
        assert client.can_use(ADAPTER, "0x" + "77" * 20)
        record = client.epoch(1)
        assert (record.payout_root, record.receipts_root, record.total) == (
            tree.root,
            receipts_root,
            tree.total,
        )
        assert record.claimed == first.amount + second.amount
        assert client.balance_of(first.account) == first.amount
        assert client.is_claimed(1, second.account)
        assert not client.is_claimed(1, developer.account)
        [event] = client.events("AttributionSettlement", "EpochCommitted")
        assert event.args["payoutRoot"] == tree.root
        assert committed.tx_hash

        with pytest.raises(AlreadyClaimed):
            client.claim(epoch=1, account=first.account, amount=first.amount, proof=first.proof)
        client.claim(epoch=1, account=developer.account, amount=developer.amount, proof=developer.proof)
        next_tree, next_receipts_root = epoch_payouts([(10, 10)])
        commit(client, epoch=2, tree=next_tree, receipts_root=next_receipts_root, receipt_count=1)

        assert client.last_committed_epoch() == 2
        assert client.vault_balance(PAYER) == 100 * OPEN - tree.total - next_tree.total
        assert client.balance_of(developer.account) == developer.amount


def test_a_node_restarted_without_its_state_gets_a_fresh_deployment(tmp_path: Path):
    var_dir, port = tmp_path / "var", free_port()
    with running_anvil(port, log=tmp_path / "anvil-1.log") as rpc_url:
        client = operator_client(rpc_url)
        client.ensure_deployed(var_dir)
        prepay(client, OPEN)
        commit(client, epoch=1, tree=PayoutTree({DEVELOPER: 5}), receipts_root=bytes(32), receipt_count=1)

    with running_anvil(port, log=tmp_path / "anvil-2.log") as rpc_url:
        client = operator_client(rpc_url)
        assert client.find_deployment(var_dir) is None
        client.ensure_deployed(var_dir)
        assert client.last_committed_epoch() == 0
