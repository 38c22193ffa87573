"""OpenToken: the OPEN ERC-20 that fees and payouts are counted in, minted only by its minter."""

from __future__ import annotations

import pytest

from contracts.errors import NotAuthorized
from tests.contracts.conftest import OPEN


def test_open_is_an_18_decimal_erc20_named_open(chain):
    token = chain.operator.contract("OpenToken")
    assert (token.functions.symbol().call(), token.functions.decimals().call()) == ("OPEN", 18)


def test_the_minter_mints_to_anyone_and_the_transfer_is_emitted(chain):
    result = chain.operator.mint(to=chain.address(3), amount=5 * OPEN)

    assert chain.operator.balance_of(chain.address(3)) == 5 * OPEN
    [transfer] = result.events_named("Transfer")
    assert transfer.args == {"from": "0x" + "00" * 20, "to": chain.address(3), "value": 5 * OPEN}


def test_nobody_else_can_mint(chain):
    with pytest.raises(NotAuthorized) as raised:
        chain.client_for(3).mint(to=chain.address(3), amount=OPEN)
    assert raised.value.arguments["account"] == chain.address(3)
    assert chain.operator.balance_of(chain.address(3)) == 0
