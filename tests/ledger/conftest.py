"""Ledger fixtures: a real anvil node per test module, fresh contracts per test, a published base model,
and a user who prepaid OPEN into the vault, whose answers the epochs are paid from."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from contracts.chain_client import ChainClient
from contracts.development_accounts import DEVELOPMENT_OPERATOR_KEY
from modelfactory.catalog.models import PublishedModel
from modelfactory.catalog.services import base_model_register
from tests.support.anvil_node import running_anvil
from tests.support.factories import make_user
from tests.support.paid_answers import vault_deposit
from tests.support.services import free_port

OPEN = 10**18


@pytest.fixture(autouse=True)
def _every_settlement_run_closes_an_epoch(settings):
    """Tests decide when an epoch closes by calling the task; the time policy has its own test."""
    settings.LEDGER_EPOCH_SECONDS = 0


@pytest.fixture(scope="module")
def anvil_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("anvil") / "anvil.log"
    with running_anvil(free_port(), log=log) as url:
        yield url


def deploy(rpc_url: str, var_dir: Path) -> ChainClient:
    """What `manage.py deploy_contracts` does: deploy under var_dir. The operator gets no OPEN: epochs are
    paid from what users deposited and were charged."""
    client = ChainClient(rpc_url, operator_key=DEVELOPMENT_OPERATOR_KEY)
    client.ensure_deployed(var_dir)
    return client


@pytest.fixture
def chain(settings, anvil_url: str) -> ChainClient:
    """The operator's client on fresh contracts: each test's VAR_DIR is its own, so is its deployment."""
    settings.CHAIN_RPC_URL = anvil_url
    return deploy(anvil_url, Path(settings.VAR_DIR))


@pytest.fixture
def payer(chain: ChainClient):
    """A user who deposited 1,000 OPEN into the vault, credited by the watcher: the answers they ask are
    what the epochs pay out."""
    user = make_user("payer")
    vault_deposit(chain, user=user, amount=1_000 * OPEN)
    return user


@pytest.fixture
def base_model(tiny_base_model: Path) -> PublishedModel:
    base_model_register(name="tiny-base", source=str(tiny_base_model))
    return PublishedModel.objects.get(api_name="tiny-base")
