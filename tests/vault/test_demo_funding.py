"""The demo's prepaid balance: `demo_deposit` and `make run`'s `deploy_contracts` pay into the vault on the
local chain and wait for the watcher's credit, once; never outside development."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from contracts.chain_client import ChainClient
from modelfactory.accounts.services import user_upsert
from modelfactory.billing.selectors import balance_of
from modelfactory.vault.account_services import account_id_bytes
from tests.ledger.conftest import OPEN

pytestmark = pytest.mark.django_db


def test_demo_deposit_mints_deposits_and_waits_until_the_watcher_credits_it(chain):
    user = user_upsert(username="someone")
    out = StringIO()

    call_command("demo_deposit", "someone", "2.5", stdout=out)

    assert "credited" in out.getvalue()
    assert balance_of(user).available == 5 * OPEN // 2
    assert chain.vault_balance(account_id_bytes(user.vault_account)) == 5 * OPEN // 2


def test_make_runs_deploy_step_gives_the_demo_user_a_balance_once_per_deployment(settings, anvil_url):
    settings.CHAIN_RPC_URL = anvil_url
    demo = user_upsert(username="demo")

    call_command("deploy_contracts", stdout=StringIO())
    call_command("deploy_contracts", stdout=StringIO())  # every `make run` calls it: no second deposit

    client = ChainClient(anvil_url)
    client.find_deployment(settings.VAR_DIR)
    assert balance_of(demo).available == 1_000 * OPEN
    assert len(client.events("PaymentVault", "Deposited")) == 1
    assert client.balance_of(client.deployment.deployer) == 0, "the operator is given no OPEN"


def test_demo_deposits_are_refused_outside_development(chain, settings):
    user_upsert(username="someone")
    settings.ENVIRONMENT = "production"
    with pytest.raises(CommandError, match="development chains only"):
        call_command("demo_deposit", "someone", "1")


def test_demo_deposit_names_an_unknown_user_or_a_bad_amount(chain):
    user_upsert(username="someone")
    with pytest.raises(CommandError, match="no user"):
        call_command("demo_deposit", "nobody", "1")
    with pytest.raises(CommandError, match="not a number"):
        call_command("demo_deposit", "someone", "lots")
