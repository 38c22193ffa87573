"""A deployed set of contracts on eth-tester's in-process EVM, reset to a clean state for every test.

Deploying on py-evm takes a couple of seconds, so it happens once per module; each test then runs in
an EVM snapshot that is reverted afterwards, so tests never see each other's transactions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from web3 import EthereumTesterProvider, Web3

from contracts.chain_client import ChainClient
from contracts.deployment import Deployment
from contracts.records import TxResult, record_id
from tests.contracts.in_process_chain import funded_keys, in_process_provider

OPEN = 10**18  # one OPEN in base units
PAYER = record_id("vault-account", "payer")  # the vault account that prepays the epochs of these tests
PAYER_KEY_INDEX = 7  # the pre-funded account that deposits into it


@dataclass
class InProcessChain:
    provider: EthereumTesterProvider
    web3: Web3
    keys: list[str]
    var_dir: Path
    deployment: Deployment
    operator: ChainClient

    @property
    def operator_address(self) -> str:
        return self.operator.operator_address

    def address(self, index: int) -> str:
        """The address of pre-funded account `index` (0 is the operator)."""
        return Account.from_key(self.keys[index]).address

    def client_for(self, index: int) -> ChainClient:
        """A client signing with account `index`: a stranger to the contracts' roles unless index is 0."""
        return ChainClient(
            "in-process", operator_key=self.keys[index], web3=self.web3, deployment=self.deployment
        )


@pytest.fixture(scope="module")
def deployed_chain(tmp_path_factory: pytest.TempPathFactory) -> InProcessChain:
    provider = in_process_provider()
    web3 = Web3(provider)
    keys = funded_keys(provider)
    var_dir = tmp_path_factory.mktemp("var")
    operator = ChainClient("in-process", operator_key=keys[0], web3=web3)
    deployment = operator.ensure_deployed(var_dir)
    return InProcessChain(provider, web3, keys, var_dir, deployment, operator)


@pytest.fixture
def chain(deployed_chain: InProcessChain) -> Iterator[InProcessChain]:
    tester = deployed_chain.provider.ethereum_tester
    snapshot = tester.take_snapshot()
    yield deployed_chain
    tester.revert_to_snapshot(snapshot)


def deposit_into_vault(
    chain: InProcessChain, *, amount: int, account_id: bytes = PAYER, key_index: int = PAYER_KEY_INDEX
) -> TxResult:
    """Mint `amount` OPEN to account `key_index` and deposit it into vault account `account_id`."""
    chain.operator.mint(to=chain.address(key_index), amount=amount)
    return chain.operator.deposit(account_id=account_id, amount=amount, sender_key=chain.keys[key_index])
