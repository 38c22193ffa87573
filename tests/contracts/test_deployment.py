"""Contracts are deployed once per chain and found again, never silently replaced."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from web3 import Web3

from contracts.chain_client import ChainClient
from contracts.deployment import deployment_path, read_deployment
from contracts.errors import ContractsNotDeployed, DeploymentOutdated, OperatorKeyMissing
from tests.contracts.in_process_chain import funded_keys, in_process_provider


@pytest.fixture
def var_dir(chain, tmp_path: Path) -> Path:
    """A copy of the var dir holding the module's deployment, that a test may change."""
    shutil.copytree(chain.var_dir / "chain", tmp_path / "chain")
    return tmp_path


def test_the_deployment_is_stored_per_chain_id_under_the_var_dir(chain):
    stored = read_deployment(deployment_path(chain.var_dir, chain.web3.eth.chain_id))
    assert stored == chain.deployment
    assert set(stored.addresses) == {
        "OpenToken",
        "DatanetRegistry",
        "ModelRegistry",
        "PaymentVault",
        "AttributionSettlement",
    }


def test_the_settlement_draws_on_the_deployed_vault_which_lets_it_and_only_it(chain):
    vault = chain.operator.contract("PaymentVault")
    settlement = chain.operator.contract("AttributionSettlement")
    role = vault.functions.SETTLEMENT_ROLE().call()

    assert settlement.functions.vault().call() == vault.address
    assert settlement.functions.token().call() == chain.deployment.address_of("OpenToken")
    assert vault.functions.hasRole(role, settlement.address).call()
    assert not vault.functions.hasRole(role, chain.operator_address).call()
    assert vault.functions.hasRole(vault.functions.SIGNER_ROLE().call(), chain.operator_address).call()


def test_a_stored_deployment_pairing_a_settlement_with_another_vault_is_not_live(chain, var_dir):
    """Immutables are masked when code is compared, so the wiring is checked on its own."""
    path = deployment_path(var_dir, chain.deployment.chain_id)
    second_deployment = chain.client_for(0).ensure_deployed(var_dir / "elsewhere")
    data = json.loads(path.read_text())
    data["addresses"]["PaymentVault"] = second_deployment.address_of("PaymentVault")
    path.write_text(json.dumps(data))

    assert ChainClient("in-process", web3=chain.web3).find_deployment(var_dir) is None


def test_ensuring_the_deployment_again_reuses_it_without_a_transaction(chain, var_dir):
    block = chain.web3.eth.block_number
    again = chain.client_for(0).ensure_deployed(var_dir)
    assert again == chain.deployment
    assert chain.web3.eth.block_number == block


def test_a_read_only_client_finds_the_deployment_but_cannot_write(chain, var_dir):
    reader = ChainClient("in-process", web3=chain.web3)
    assert reader.find_deployment(var_dir) == chain.deployment
    assert reader.last_committed_epoch() == 0
    with pytest.raises(OperatorKeyMissing):
        reader.mint(to=chain.address(1), amount=1)


def test_a_client_without_a_deployment_says_how_to_get_one(chain):
    with pytest.raises(ContractsNotDeployed, match="ensure_deployed"):
        ChainClient("in-process", web3=chain.web3).last_committed_epoch()


def test_a_deployment_of_other_sources_is_refused_unless_replacing_is_asked_for(chain, var_dir):
    path = deployment_path(var_dir, chain.deployment.chain_id)
    data = json.loads(path.read_text())
    data["source_hash"] = "0" * 64
    path.write_text(json.dumps(data))
    client = chain.client_for(0)

    with pytest.raises(DeploymentOutdated, match="replace_outdated"):
        client.ensure_deployed(var_dir)
    replaced = client.ensure_deployed(var_dir, replace_outdated=True)

    assert replaced.addresses != chain.deployment.addresses
    assert read_deployment(path) == replaced


def test_a_chain_without_our_code_at_the_stored_addresses_gets_a_fresh_deployment(var_dir):
    """A development chain restarted without its state: the stored addresses hold nothing any more."""
    fresh_provider = in_process_provider()
    client = ChainClient("in-process", operator_key=funded_keys(fresh_provider)[0], web3=Web3(fresh_provider))
    assert client.find_deployment(var_dir) is None

    deployment = client.ensure_deployed(var_dir)

    assert client.find_deployment(var_dir) == deployment
    assert client.last_committed_epoch() == 0
