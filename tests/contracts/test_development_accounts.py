"""The development keys are anvil's own: each derives from anvil's mnemonic, so each has gas on anvil, and
every place that starts the development anvil starts it with all of them."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from eth_account import Account

from contracts.development_accounts import (
    ANVIL_KEYS,
    ANVIL_MNEMONIC,
    DEVELOPMENT_ACCOUNT_COUNT,
    DEVELOPMENT_ADDRESSES,
    FIRST_CONTRIBUTOR_ACCOUNT,
    derive_development_key,
    development_address,
    development_addresses,
    development_index_of,
    development_key,
    development_key_of,
)
from tests.support.anvil_node import running_anvil
from tests.support.services import free_port

REPO = Path(__file__).resolve().parents[2]


def rpc(url: str, method: str, *params):
    response = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
    return response.json()["result"]


def test_every_listed_development_key_is_the_account_anvil_funds_at_that_index():
    Account.enable_unaudited_hdwallet_features()
    derived = [
        Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}").key.to_0x_hex()
        for index in range(len(ANVIL_KEYS))
    ]
    assert list(ANVIL_KEYS) == derived
    assert [derive_development_key(index) for index in range(len(ANVIL_KEYS))] == list(ANVIL_KEYS)
    assert [development_key(index) for index in range(len(ANVIL_KEYS))] == list(ANVIL_KEYS)


def test_every_written_out_address_is_the_one_its_derived_key_controls():
    derived = [
        Account.from_key(derive_development_key(index)).address for index in range(DEVELOPMENT_ACCOUNT_COUNT)
    ]

    assert list(DEVELOPMENT_ADDRESSES) == derived
    assert [development_address(index) for index in range(DEVELOPMENT_ACCOUNT_COUNT)] == derived
    assert Account.from_key(development_key(DEVELOPMENT_ACCOUNT_COUNT - 1)).address == derived[-1]


def test_the_derived_accounts_are_the_ones_anvil_started_with_64_accounts_funds(tmp_path):
    with running_anvil(free_port(), log=tmp_path / "anvil.log", accounts=DEVELOPMENT_ACCOUNT_COUNT) as url:
        accounts = rpc(url, "eth_accounts")
        last_balance = int(rpc(url, "eth_getBalance", accounts[-1], "latest"), 16)

    assert DEVELOPMENT_ACCOUNT_COUNT == 64
    assert [account.lower() for account in accounts] == [
        Account.from_key(derive_development_key(index)).address.lower()
        for index in range(DEVELOPMENT_ACCOUNT_COUNT)
    ]
    assert last_balance == 10_000 * 10**18, "every development account has gas"


def test_an_address_is_looked_up_in_any_spelling_and_nothing_else_is_a_development_account():
    first_contributor = development_address(FIRST_CONTRIBUTOR_ACCOUNT)

    assert FIRST_CONTRIBUTOR_ACCOUNT == len(ANVIL_KEYS) == 10
    assert development_index_of(first_contributor.lower()) == FIRST_CONTRIBUTOR_ACCOUNT
    assert development_key_of(first_contributor.upper().replace("0X", "0x")) == development_key(10)
    assert Account.from_key(development_key(63)).address == development_address(63)
    assert len(development_addresses()) == DEVELOPMENT_ACCOUNT_COUNT
    assert development_index_of(Account.create().address) is None
    assert development_key_of("") is None
    with pytest.raises(IndexError, match="64 accounts"):
        development_key(DEVELOPMENT_ACCOUNT_COUNT)


def test_the_development_anvil_is_started_with_every_development_account():
    """`make run` (Procfile) and docker-compose fund the accounts seeding gives the demo's contributors."""
    procfile_chain = next(
        line for line in (REPO / "Procfile").read_text().splitlines() if line.startswith("chain:")
    )
    compose = (REPO / "docker-compose.yml").read_text()

    assert re.search(rf"anvil .*--accounts {DEVELOPMENT_ACCOUNT_COUNT}\b", procfile_chain)
    assert f'"--accounts", "{DEVELOPMENT_ACCOUNT_COUNT}"' in compose
