"""A transaction the node refuses (a nonce another sender of the account took) is a chain error that
says so, and one the settlement waits out like an outage, never a crash of the caller."""

from __future__ import annotations

import pytest
from eth_account import Account
from web3 import Web3

from contracts.development_accounts import development_address, development_key
from contracts.errors import ChainUnavailable, TransactionRejected
from contracts.transactions import TransactionSender
from tests.support.anvil_node import running_anvil
from tests.support.services import free_port


@pytest.fixture
def anvil(tmp_path):
    with running_anvil(free_port(), log=tmp_path / "anvil.log") as url:
        yield url


def transfer(web3: Web3, *, nonce: int) -> dict:
    return {
        "from": development_address(3),
        "to": development_address(4),
        "value": 1,
        "gas": 21_000,
        "gasPrice": web3.eth.gas_price,
        "nonce": nonce,
        "chainId": web3.eth.chain_id,
    }


def test_a_nonce_already_used_by_another_sender_is_transaction_rejected_naming_it(anvil):
    web3 = Web3(Web3.HTTPProvider(anvil))
    this_process = TransactionSender(web3, Account.from_key(development_key(3)), rpc_url=anvil)
    other_process = TransactionSender(web3, Account.from_key(development_key(3)), rpc_url=anvil)
    other_process._sign_send_wait(transfer(web3, nonce=0), contract="-", function="transfer")

    with pytest.raises(TransactionRejected) as refused:
        this_process._sign_send_wait(transfer(web3, nonce=0), contract="-", function="transfer")

    assert "nonce" in str(refused.value).lower()
    assert anvil in str(refused.value)
    assert isinstance(refused.value, ChainUnavailable)  # settlement keeps the epoch queued and retries
    assert web3.eth.get_transaction_count(development_address(3)) == 1  # the refused one did nothing
