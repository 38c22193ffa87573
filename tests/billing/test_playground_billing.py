"""The playground charges every answer to the user's prepaid balance, and says how to deposit when it
cannot cover one."""

from __future__ import annotations

import re

import pytest

from modelfactory.billing.models import JournalEntry, Reservation
from modelfactory.billing.pricing import answer_price_max
from modelfactory.billing.selectors import balance_of
from modelfactory.billing.services import withdrawal_reserve
from modelfactory.catalog.models import PublishedModel
from modelfactory.ledger.models import InferenceReceipt
from modelfactory.playground.models import Conversation, Message
from tests.playground.playground_support import parse_events, slow_talkative_engine, streamed
from tests.support.factories import make_user
from tests.support.funding import OPEN, fund

pytestmark = pytest.mark.django_db


@pytest.fixture
def bea(client, served):
    user = make_user("bea")
    client.force_login(user)
    return user


def send(client, message: str = "How bright is the lamp?", **fields):
    data = {"model": "tiny-base", "temperature": "0", "top_p": "1", "max_tokens": "8", "message": message}
    return client.post("/playground/send/", {**data, **fields})


def test_a_user_without_funds_is_refused_before_anything_is_saved_with_the_way_to_deposit(client, bea):
    response = send(client)

    assert response.status_code == 402
    assert "0 OPEN available" in response.json()["error"]
    assert response.json()["deposit_url"] == "/wallet/"
    assert not Conversation.objects.exists()


def test_a_balance_spent_after_sending_is_refused_when_the_answer_starts(client, bea):
    fund(bea, OPEN)
    stream_url = send(client).json()["answers"][0]["stream_url"]
    withdrawal_reserve(user=bea, amount=OPEN)  # spent elsewhere meanwhile

    events = streamed(client.get(stream_url))

    assert events == [("error", {"message": events[0][1]["message"], "deposit_url": "/wallet/"})]
    assert "cannot cover this answer" in events[0][1]["message"]
    answer = Message.objects.get(role="assistant")
    assert answer.status == "failed"
    assert "/wallet/" in answer.error
    assert not Reservation.objects.exists()


def test_an_answer_is_charged_its_receipts_fee_and_the_rest_is_released(client, bea):
    fund(bea, OPEN)

    done = streamed(client.get(send(client).json()["answers"][0]["stream_url"]))[-1]

    receipt = InferenceReceipt.objects.get(receipt_id=done[1]["receipt_id"])
    reservation = Reservation.objects.get(user=bea)
    assert reservation.amount == answer_price_max(
        published=receipt.published_model, tokens_in=receipt.tokens_in, tokens_out_max=8
    )
    assert (reservation.status, reservation.receipt, reservation.charged) == ("settled", receipt, receipt.fee)
    assert balance_of(bea).available == OPEN - receipt.fee
    assert balance_of(bea).reserved == 0


def test_a_stopped_answer_is_charged_for_the_tokens_it_produced_only(client, bea, monkeypatch):
    slow_talkative_engine(monkeypatch, seconds_per_step=0.02)
    fund(bea, OPEN)
    answer = send(client, max_tokens="4000").json()["answers"][0]
    chunks = iter(client.get(answer["stream_url"]).streaming_content)
    for chunk in chunks:
        if chunk.startswith(b"event: token"):
            break

    client.post(answer["stop_url"])

    done = parse_events(b"".join(chunks).decode())[-1][1]
    receipt = InferenceReceipt.objects.get(receipt_id=done["receipt_id"])
    reservation = Reservation.objects.get(user=bea)
    assert done["status"] == "stopped"
    assert 0 < receipt.tokens_out < 4000
    assert reservation.charged == receipt.fee < reservation.amount
    assert balance_of(bea).available == OPEN - receipt.fee


@pytest.mark.django_db(transaction=True)  # closing the response ends the request, and its connection
def test_a_reader_who_leaves_mid_answer_pays_for_the_tokens_produced_until_then(client, bea, monkeypatch):
    slow_talkative_engine(monkeypatch, seconds_per_step=0.02)
    fund(bea, OPEN)
    answer = send(client, max_tokens="4000").json()["answers"][0]
    response = client.get(answer["stream_url"])
    for chunk in response.streaming_content:
        if chunk.startswith(b"event: token"):
            break

    response.close()  # what the server does when the browser goes away

    reservation = Reservation.objects.get(user=bea)
    assert reservation.status == "settled"
    assert 0 < reservation.receipt.tokens_out < 4000
    assert balance_of(bea).available == OPEN - reservation.charged
    assert Message.objects.get(role="assistant").status == "stopped"


def test_side_by_side_needs_funds_for_both_answers_and_a_free_one_costs_nothing(
    client, bea, served, free_model
):
    twin = PublishedModel.objects.create(
        api_name="tiny-twin", title="Twin", kind=PublishedModel.Kind.BASE, base_model=served.base_model
    )
    meter = client.get("/playground/context/", {"model": "tiny-base", "message": "How bright is the lamp?"})
    tokens = int(re.search(r'data-tokens="(\d+)"', meter.content.decode()).group(1))
    fund(bea, answer_price_max(published=served, tokens_in=tokens, tokens_out_max=8))

    both = send(client, compare_model=twin.api_name)

    assert both.status_code == 402
    assert "cannot cover these answers" in both.json()["error"]
    assert send(client, compare_model=free_model.api_name).status_code == 201


def test_a_free_model_answers_a_user_without_funds_and_charges_nothing(client, bea, free_model):
    events = streamed(client.get(send(client, model="free-tiny").json()["answers"][0]["stream_url"]))

    assert events[-1][0] == "done"
    assert InferenceReceipt.objects.get(receipt_id=events[-1][1]["receipt_id"]).fee == 0
    assert not Reservation.objects.exists()
    assert not JournalEntry.objects.exists()


def test_the_playground_shows_the_balance_and_each_models_price(client, bea, free_model):
    fund(bea, 2 * OPEN)

    page = client.get("/playground/").content.decode()

    assert "Your balance: <strong>2 OPEN</strong>" in page
    assert 'href="/wallet/">Deposit OPEN</a>' in page
    assert "tiny-base · base model · 0.001 / 0.002 OPEN per 1k tokens in / out + 0.0001 per answer)" in page
    assert "free-tiny · free)" in page
