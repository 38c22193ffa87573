"""The ledger pages without a chain node: empty states, shareable receipts, figures shown unverified."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from modelfactory.ledger.models import Epoch, InferenceReceipt
from modelfactory.ledger.receipt_services import receipt_record
from modelfactory.ledger.services import epoch_close_and_commit
from tests.support.factories import make_user
from tests.support.services import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_chain_node(settings):
    settings.CHAIN_RPC_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens there


def test_earnings_needs_a_login(client):
    response = client.get("/earnings/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_earnings_empty_state(client):
    client.force_login(make_user())

    html = client.get("/earnings/").content.decode()

    assert "No payouts yet" in html
    assert "Nothing earned from any model yet" in html


def test_ledger_empty_state(client):
    html = client.get("/ledger/").content.decode()
    assert "No epoch yet" in html


def test_the_receipt_page_is_shareable(client, base_model):
    receipt = receipt_record(published=base_model, tokens_in=120, tokens_out=30)

    page = client.get(f"/receipts/{receipt.receipt_id}/")  # no login: a link anyone can open

    html = page.content.decode()
    assert page.status_code == 200
    assert "tiny-base" in html
    assert str(receipt.receipt_id) in html
    assert "No contributors" in html
    assert "None: the base model answered on its own" in html
    for account in receipt.split["by_account"]:
        assert account in html
    assert "not settled yet" in html


def test_an_unknown_receipt_is_404(client):
    assert client.get(f"/receipts/{uuid.uuid4()}/").status_code == 404


def test_with_the_node_down_figures_show_unverified_and_epochs_queued(client, base_model, settings):
    user = make_user("platform")
    user.wallet_address = settings.MODELFACTORY_PLATFORM_WALLET
    user.save()
    receipt_record(published=base_model, tokens_in=100, tokens_out=100)
    run = epoch_close_and_commit()
    assert run.queued == [1]
    client.force_login(user)

    html = client.get("/earnings/").content.decode()

    assert "pending settlement" in html
    assert "not verified" in html
    assert "verified on chain" not in html
    assert "Claim</button>" not in html
    assert "waiting for the chain" in client.get("/ledger/").content.decode()


def test_an_epoch_closes_when_enough_receipts_wait_or_the_oldest_is_old_enough(base_model, settings):
    settings.LEDGER_EPOCH_SECONDS, settings.LEDGER_EPOCH_MAX_RECEIPTS = 3600, 3
    for _ in range(2):
        receipt_record(published=base_model, tokens_in=10, tokens_out=10)
    assert epoch_close_and_commit().closed is None  # two young receipts: wait

    receipt_record(published=base_model, tokens_in=10, tokens_out=10)
    assert epoch_close_and_commit().closed == 1  # three: close

    receipt_record(published=base_model, tokens_in=10, tokens_out=10)
    assert epoch_close_and_commit().closed is None
    two_hours_ago = timezone.now() - timedelta(hours=2)
    InferenceReceipt.objects.filter(epoch__isnull=True).update(created=two_hours_ago)
    assert epoch_close_and_commit().closed == 2  # one old receipt: close
    assert list(Epoch.objects.order_by("number").values_list("receipt_count", flat=True)) == [3, 1]
