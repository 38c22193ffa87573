"""With the node down, every call says so as ChainUnavailable, so callers can wait and retry."""

from __future__ import annotations

import pytest

from contracts.chain_client import ChainClient, ChainUnavailable
from contracts.deployment import Deployment
from contracts.development_accounts import DEVELOPMENT_OPERATOR_KEY
from contracts.payout_tree import PayoutTree
from contracts.records import Debit, VaultFunding
from tests.support.services import free_port


@pytest.fixture
def client_of_a_dead_node(tmp_path) -> ChainClient:
    deployment = Deployment(
        chain_id=31337,
        source_hash="0" * 64,
        addresses={
            name: "0x" + f"{i + 1:040x}"
            for i, name in enumerate(
                ["OpenToken", "DatanetRegistry", "ModelRegistry", "PaymentVault", "AttributionSettlement"]
            )
        },
        block_number=1,
        deployer="0x" + "00" * 20,
    )
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    return ChainClient(url, timeout_s=1, operator_key=DEVELOPMENT_OPERATOR_KEY, deployment=deployment)


def test_status_of_a_dead_node_raises_chain_unavailable_naming_the_url(client_of_a_dead_node):
    with pytest.raises(ChainUnavailable, match=client_of_a_dead_node.rpc_url):
        client_of_a_dead_node.status()


def test_reads_and_writes_against_a_dead_node_raise_chain_unavailable(client_of_a_dead_node, tmp_path):
    client = client_of_a_dead_node
    tree = PayoutTree({"0x" + "ab" * 20: 1})
    for attempt in (
        client.last_committed_epoch,
        lambda: client.epoch(1),
        lambda: client.commit_epoch(
            epoch=1,
            payouts=tree,
            receipts_root=bytes(32),
            receipt_count=1,
            funding=VaultFunding((Debit(bytes(32), 1),)),
        ),
        lambda: client.deposit(account_id=b"\x01" * 32, amount=1),
        lambda: client.vault_balance(b"\x01" * 32),
        lambda: client.nonce_used(1),
        lambda: client.block_timestamp(),
        lambda: client.events("PaymentVault", "Deposited", from_block=1, to_block=2),
        lambda: client.claim(epoch=1, account="0x" + "ab" * 20, amount=1, proof=()),
        lambda: client.ensure_deployed(tmp_path),
        lambda: client.events("AttributionSettlement", "Claimed"),
    ):
        with pytest.raises(ChainUnavailable):
            attempt()
