"""The chain node goes away: epochs are closed and wait, nothing is lost; on recovery they are committed
exactly once, in order, their totals equal the receipts' fees, and the payer's vault account paid exactly
that."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.chain_client import ChainClient
from contracts.development_accounts import ANVIL_KEYS, address_of
from modelfactory.ledger.models import Epoch, InferenceReceipt
from modelfactory.ledger.services import epoch_close_and_commit
from modelfactory.ledger.tasks import settle_epochs
from modelfactory.vault.account_services import account_id_bytes
from tests.ledger.conftest import OPEN, deploy
from tests.support.anvil_node import running_anvil
from tests.support.factories import make_user
from tests.support.paid_answers import paid_answer, vault_deposit
from tests.support.services import free_port

pytestmark = pytest.mark.django_db


def answer(published, payer, count: int) -> None:
    for i in range(count):
        paid_answer(published=published, user=payer, tokens_in=50 + i, tokens_out=80 + i)


def test_epochs_wait_for_the_node_and_are_committed_once_in_order(settings, base_model, tmp_path):
    settings.MODELFACTORY_OPERATOR_WALLET = address_of(ANVIL_KEYS[1])
    port, state = free_port(), tmp_path / "chain-state.json"
    settings.CHAIN_RPC_URL = f"http://127.0.0.1:{port}"

    payer = make_user("payer")
    with running_anvil(port, log=tmp_path / "anvil-1.log", state_file=state):
        operator = deploy(settings.CHAIN_RPC_URL, Path(settings.VAR_DIR))
        vault_deposit(operator, user=payer, amount=10 * OPEN)
        answer(base_model, payer, 2)
        assert settle_epochs()["committed"] == [1]  # through the Celery task's body

    # The node is down: requests keep being answered and settlement keeps closing epochs.
    answer(base_model, payer, 3)
    first = epoch_close_and_commit()
    answer(base_model, payer, 1)
    second = epoch_close_and_commit()

    assert (first.closed, first.committed, first.queued) == (2, [], [2])
    assert (second.closed, second.committed, second.queued) == (3, [], [2, 3])
    assert "ChainUnavailable" in second.error
    assert not InferenceReceipt.objects.filter(epoch__isnull=True).exists()
    assert Epoch.objects.get(number=2).last_error

    with running_anvil(port, log=tmp_path / "anvil-2.log", state_file=state):
        recovered = epoch_close_and_commit()
        again = epoch_close_and_commit()
        client = ChainClient(settings.CHAIN_RPC_URL)
        client.find_deployment(Path(settings.VAR_DIR))
        events = client.events("AttributionSettlement", "EpochCommitted")
        on_chain = {n: client.epoch(n) for n in (1, 2, 3)}
        payer_left = client.vault_balance(account_id_bytes(payer.vault_account))
        operator_open = client.balance_of(operator.operator_address)

    assert (recovered.closed, recovered.committed, recovered.queued, recovered.error) == (
        None,
        [2, 3],
        [],
        "",
    )
    assert (again.closed, again.committed) == (None, [])
    assert [event.args["epoch"] for event in events] == [1, 2, 3]
    for number, record in on_chain.items():
        receipts = InferenceReceipt.objects.filter(epoch=number)
        assert (
            record.total == sum(int(r.fee) for r in receipts) == int(Epoch.objects.get(number=number).total)
        )
        assert record.receipt_count == receipts.count()
    fees = sum(int(r.fee) for r in InferenceReceipt.objects.all())
    assert sum(r.total for r in on_chain.values()) == fees
    assert payer_left == 10 * OPEN - fees
    assert operator_open == 0, "nothing was minted to the operator and it paid for nothing"
    assert list(Epoch.objects.order_by("number").values_list("status", flat=True)) == ["committed"] * 3
