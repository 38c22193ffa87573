"""Production does not start on anvil's development wallets, keys or chain id, whose keys are public.

The attack: production left on the defaults pays the platform's and the compute operator's shares to
anvil's well-known accounts, which anyone can drain with the key printed in every Foundry install.
Each refusal is one line naming the variable, like every other configuration error.
"""

from __future__ import annotations

import pytest

from contracts.development_accounts import ANVIL_KEYS, address_of
from tests.health.test_configuration_errors import PRODUCTION as REQUIRED_IN_PRODUCTION
from tests.health.test_configuration_errors import start_up

PRODUCTION = {**REQUIRED_IN_PRODUCTION, "CHAIN_OPERATOR_KEY": "0x" + "11" * 32}


def refusal(**changes: str | None) -> str:
    environment = {**PRODUCTION, **changes}
    result = start_up(**{name: value for name, value in environment.items() if value is not None})
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    "variable", ["MODELFACTORY_PLATFORM_WALLET", "MODELFACTORY_OPERATOR_WALLET", "CHAIN_ID"]
)
def test_production_without_its_own_wallets_or_chain_id_refuses_to_start(variable, monkeypatch):
    monkeypatch.delenv(variable, raising=False)

    line = refusal(**{variable: None})

    assert line == (
        "modelfactory: configuration error: "
        f"{variable} is required when MODELFACTORY_ENV=production but is not set"
    )


@pytest.mark.parametrize("variable", ["MODELFACTORY_PLATFORM_WALLET", "MODELFACTORY_OPERATOR_WALLET"])
@pytest.mark.parametrize("account", [0, 1, -1])
def test_production_refuses_anvils_development_accounts_as_its_wallets(variable, account):
    line = refusal(**{variable: address_of(ANVIL_KEYS[account]).lower()})

    assert variable in line
    assert "anvil's development accounts" in line


def test_production_refuses_anvils_keys_for_its_operator_and_anvils_chain_id():
    assert "CHAIN_OPERATOR_KEY" in refusal(CHAIN_OPERATOR_KEY=ANVIL_KEYS[0])
    assert "CHAIN_ID=31337" in refusal(CHAIN_ID="31337")
    assert "MODELFACTORY_PLATFORM_WALLET" in refusal(MODELFACTORY_PLATFORM_WALLET="treasury")
