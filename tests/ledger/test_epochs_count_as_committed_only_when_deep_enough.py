"""An epoch's payouts become claimable only once its commit has enough blocks on top of it: until then it
is "committing" with its transaction, and each settlement run reads the chain again."""

from __future__ import annotations

from pathlib import Path

import pytest
from web3 import Web3

from contracts.development_accounts import ANVIL_KEYS, address_of
from modelfactory.ledger.models import Epoch
from modelfactory.ledger.services import ClaimRefused, epoch_close_and_commit, payout_claim
from tests.ledger.conftest import OPEN, deploy
from tests.ledger.test_settlement_outage import answer
from tests.support.anvil_node import running_anvil
from tests.support.factories import make_user
from tests.support.paid_answers import vault_deposit
from tests.support.services import free_port

pytestmark = pytest.mark.django_db


def test_a_commit_waits_for_its_confirmations_before_its_payouts_are_claimable(
    settings, base_model, tmp_path
):
    settings.MODELFACTORY_OPERATOR_WALLET = address_of(ANVIL_KEYS[1])
    settings.MODELFACTORY_EPOCH_CONFIRMATIONS = 3
    port = free_port()
    settings.CHAIN_RPC_URL = f"http://127.0.0.1:{port}"
    payer = make_user("payer")
    with running_anvil(port, log=tmp_path / "anvil.log"):
        operator = deploy(settings.CHAIN_RPC_URL, Path(settings.VAR_DIR))
        vault_deposit(operator, user=payer, amount=10 * OPEN)
        answer(base_model, payer, 2)

        landed = epoch_close_and_commit()
        shallow = Epoch.objects.get(number=1)
        with pytest.raises(ClaimRefused, match="not committed on chain yet"):
            payout_claim(payout=shallow.payouts.first())
        mine = Web3(Web3.HTTPProvider(settings.CHAIN_RPC_URL)).provider.make_request
        for _ in range(3):
            mine("evm_mine", [])
        deep = epoch_close_and_commit()

    assert (landed.closed, landed.committed, landed.queued) == (1, [], [1])
    assert shallow.status == Epoch.Status.COMMITTING
    assert shallow.tx_hash
    assert shallow.block_number
    assert "waiting for 3 confirmations (0 so far)" in shallow.last_error
    assert shallow.payouts.exists()  # the payouts exist, but only a committed epoch's can be claimed
    assert (deep.committed, deep.queued) == ([1], [])
    assert Epoch.objects.get(number=1).status == Epoch.Status.COMMITTED
    assert Epoch.objects.get(number=1).tx_hash == shallow.tx_hash  # the same transaction, read back
