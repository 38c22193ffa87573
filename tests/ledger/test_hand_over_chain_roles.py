"""`manage.py hand_over_chain_roles` on a real anvil: a dry run changes nothing, `--yes` hands the roles
over, and the development start (`deploy_contracts`) still works with an operator that is no longer admin."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from contracts.development_accounts import ANVIL_KEYS, address_of

pytestmark = pytest.mark.django_db

ADMIN = address_of(ANVIL_KEYS[5])
SIGNER_KEY = ANVIL_KEYS[8]


@pytest.fixture(autouse=True)
def _a_voucher_key_of_its_own(settings):
    settings.MODELFACTORY_VOUCHER_KEY = SIGNER_KEY


def run(*args: str) -> str:
    out = StringIO()
    call_command("hand_over_chain_roles", *args, stdout=out)
    return out.getvalue()


def test_the_dry_run_prints_the_plan_and_changes_nothing(chain):
    block = chain.block_number()

    output = run("--admin", ADMIN)

    assert "Would send (nothing is sent without --yes)" in output
    assert f"grant DEFAULT_ADMIN_ROLE on PaymentVault to the admin {ADMIN}" in output
    assert f"grant SIGNER_ROLE on PaymentVault to the voucher signer {address_of(SIGNER_KEY)}" in output
    assert f"the operator {chain.operator_address} renounces DEFAULT_ADMIN_ROLE on OpenToken" in output
    assert chain.block_number() == block
    assert chain.has_role("OpenToken", "DEFAULT_ADMIN_ROLE", chain.operator_address)
    assert not chain.has_role("OpenToken", "DEFAULT_ADMIN_ROLE", ADMIN)


def test_yes_hands_the_roles_over_and_prints_who_holds_what(chain):
    output = run("--admin", ADMIN, "--yes")

    assert "Sent:" in output
    table = output.split("Who holds which role now:")[1]
    assert "OpenToken              MINTER_ROLE         admin, minter" in table
    assert "AttributionSettlement  OPERATOR_ROLE       operator" in table
    assert "PaymentVault           SIGNER_ROLE         voucher signer" in table
    assert not chain.has_role("PaymentVault", "DEFAULT_ADMIN_ROLE", chain.operator_address)
    assert chain.has_role("ModelRegistry", "REGISTRAR_ROLE", chain.operator_address)

    assert "Nothing to do" in run("--admin", ADMIN, "--yes")


def test_the_development_start_still_works_after_the_hand_over(chain):
    run("--admin", ADMIN, "--yes")
    out = StringIO()

    call_command("deploy_contracts", mint=50, stdout=out)

    assert "no demo OPEN minted" in out.getvalue()
    assert chain.balance_of(chain.operator_address) == 0


def test_a_new_voucher_key_after_the_hand_over_names_the_grant_the_admin_must_make(chain, settings):
    run("--admin", ADMIN, "--yes")
    settings.MODELFACTORY_VOUCHER_KEY = ANVIL_KEYS[9]

    with pytest.raises(CommandError, match="no longer administers the vault"):
        call_command("deploy_contracts", stdout=StringIO())


def test_the_operator_as_admin_is_refused(chain):
    with pytest.raises(CommandError, match="not the operator"):
        run("--admin", chain.operator_address, "--yes")
