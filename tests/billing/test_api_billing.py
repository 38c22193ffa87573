"""The OpenAI-compatible API charges every answer to the caller's prepaid balance.

Through a real server: the answer's maximum price is held before the engine starts, a balance that
cannot cover it gets OpenAI's 429 `insufficient_quota`, and when the answer ends the hold becomes the
receipt's fee and the rest is released.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest
from openai import OpenAI

from modelfactory.billing.models import JournalEntry, Reservation
from modelfactory.billing.pricing import answer_price_max
from modelfactory.billing.selectors import balance_of, charges_in, reservations_open
from modelfactory.ledger.models import InferenceReceipt
from modelfactory.serving import engine_runtime
from tests.playground.playground_support import slow_talkative_engine
from tests.support.factories import make_user
from tests.support.funding import OPEN, fund

pytestmark = pytest.mark.django_db(transaction=True)

PROMPT = "Tell me about lamps"


def prompt_tokens(prompt: str = PROMPT) -> int:
    return len(engine_runtime.engine().tokenizer(prompt)["input_ids"])


def completion(base_url: str, secret: str, **fields) -> httpx.Response:
    body = {"model": "tiny-base", "prompt": PROMPT, "max_tokens": 4, **fields}
    return httpx.post(
        f"{base_url}/v1/completions",
        json=body,
        headers={"Authorization": f"Bearer {secret}", "Connection": "close"},
        timeout=60,
    )


def settled(user, timeout_s: float = 20) -> None:
    """Wait until the server has closed every reservation of the user (it does so as the response closes)."""
    deadline = time.monotonic() + timeout_s
    while reservations_open(user).exists():
        assert time.monotonic() < deadline, "a reservation was never closed"
        time.sleep(0.05)


def test_a_caller_without_funds_is_refused_with_openais_insufficient_quota(live_server, served, secret_of):
    user = make_user()
    secret = secret_of(user)

    response = completion(live_server.url, secret)
    sent: list[httpx.Request] = []  # every request the client puts on the wire, retries included
    http_client = httpx.Client(event_hooks={"request": [sent.append]})
    client = OpenAI(
        base_url=live_server.url + "/v1", api_key=secret, timeout=30, http_client=http_client
    )  # default retries (2)
    with pytest.raises(openai.RateLimitError) as refused:
        client.chat.completions.create(model="tiny-base", messages=[{"role": "user", "content": "Hi"}])
    client.close()

    assert response.status_code == 429
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("insufficient_quota", "insufficient_quota")
    assert "0 OPEN available" in error["message"]
    assert "/wallet/" in error["message"]
    assert response.headers["x-should-retry"] == "false"
    assert refused.value.code == "insufficient_quota"
    assert len(sent) == 1, "the client must not retry a refusal only a deposit can lift"
    assert not InferenceReceipt.objects.exists()
    assert not Reservation.objects.exists()


def test_an_answer_is_charged_its_receipts_fee_and_the_rest_of_the_hold_is_released(
    live_server, served, secret_of
):
    user = make_user()
    fund(user, OPEN)

    response = completion(live_server.url, secret_of(user), max_tokens=6)

    assert response.status_code == 200
    receipt = InferenceReceipt.objects.get(receipt_id=response.json()["attribution_receipt"])
    reservation = Reservation.objects.get(user=user)
    assert reservation.amount == answer_price_max(
        published=served, tokens_in=prompt_tokens(), tokens_out_max=6
    )
    assert (reservation.status, reservation.receipt, reservation.charged) == ("settled", receipt, receipt.fee)
    assert balance_of(user).available == OPEN - receipt.fee
    assert balance_of(user).reserved == 0
    assert charges_in([receipt]) == receipt.fee > 0


def test_a_streamed_answer_is_charged_its_receipts_fee_once_it_ends(live_server, served, secret_of):
    user = make_user()
    fund(user, OPEN)

    response = completion(live_server.url, secret_of(user), stream=True, max_tokens=5)
    settled(user)

    assert response.text.rstrip().endswith("data: [DONE]")
    receipt = InferenceReceipt.objects.get(receipt_id=response.headers["X-Attribution-Receipt"])
    assert Reservation.objects.get(user=user).receipt == receipt
    assert balance_of(user).available == OPEN - receipt.fee


def test_n_choices_hold_max_tokens_for_each_choice(live_server, served, secret_of):
    user = make_user()
    fund(user, answer_price_max(published=served, tokens_in=prompt_tokens(), tokens_out_max=4))
    secret = secret_of(user)

    assert completion(live_server.url, secret, n=4).status_code == 429
    assert completion(live_server.url, secret, n=1).status_code == 200


def test_a_client_that_hangs_up_mid_stream_pays_for_the_tokens_produced_only(
    live_server, served, secret_of, monkeypatch
):
    """Reading an answer and hanging up before its last chunk must not make it free, nor cost it all."""
    slow_talkative_engine(monkeypatch, seconds_per_step=0.05)
    user = make_user()
    fund(user, OPEN)
    body = {"model": "tiny-base", "prompt": PROMPT, "max_tokens": 100, "stream": True}
    headers = {"Authorization": f"Bearer {secret_of(user)}"}

    with httpx.stream("POST", f"{live_server.url}/v1/completions", json=body, headers=headers) as response:
        pieces = 0
        for line in response.iter_lines():
            pieces += line.startswith("data: {")
            if pieces == 3:
                break
    settled(user)

    reservation = Reservation.objects.get(user=user)
    receipt = reservation.receipt
    assert reservation.status == "settled"
    assert 3 <= receipt.tokens_out < 100
    assert reservation.charged == receipt.fee < reservation.amount
    assert balance_of(user).available == OPEN - receipt.fee


def test_sixteen_parallel_streams_on_a_balance_that_covers_three_answers_run_at_most_three(
    live_server, served, secret_of, monkeypatch
):
    slow_talkative_engine(monkeypatch, seconds_per_step=0.05)  # every answer runs to its max_tokens
    user = make_user()
    price = answer_price_max(published=served, tokens_in=prompt_tokens(), tokens_out_max=12)
    fund(user, 3 * price + price // 2)
    secret = secret_of(user)
    start = threading.Barrier(16)

    def stream(_: int) -> tuple[int, str]:
        start.wait()
        response = completion(live_server.url, secret, max_tokens=12, stream=True)
        return response.status_code, response.text

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(stream, range(16)))
    settled(user)

    statuses = [status for status, _ in results]
    assert (statuses.count(200), statuses.count(429)) == (3, 13)
    for status, text in results:
        if status == 429:
            assert json.loads(text)["error"]["code"] == "insufficient_quota"
        else:
            assert text.rstrip().endswith("data: [DONE]")
    receipts = InferenceReceipt.objects.filter(user=user)
    assert [receipt.tokens_out for receipt in receipts] == [12, 12, 12]
    assert balance_of(user).available == price // 2
    assert balance_of(user).reserved == 0


def test_a_prompt_the_engine_refuses_holds_nothing(live_server, served, secret_of):
    user = make_user()
    fund(user, OPEN)

    response = completion(live_server.url, secret_of(user), prompt="lamp " * 400)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "context_length_exceeded"
    # refused before anything is held (the prompt is measured first), or held and released: never kept
    assert not Reservation.objects.filter(user=user).exclude(status="released").exists()
    assert balance_of(user).available == OPEN
    assert not JournalEntry.objects.filter(kind="charge").exists()


def test_a_free_model_answers_a_caller_without_funds_and_charges_nothing(
    live_server, served, free_model, secret_of
):
    user = make_user()

    response = completion(live_server.url, secret_of(user), model="free-tiny")

    assert response.status_code == 200
    assert InferenceReceipt.objects.get(receipt_id=response.json()["attribution_receipt"]).fee == 0
    assert not Reservation.objects.exists()
    assert not JournalEntry.objects.exists()


def test_the_models_list_shows_each_models_price_in_open(live_server, served, free_model, secret_of):
    response = httpx.get(
        f"{live_server.url}/v1/models",
        headers={"Authorization": f"Bearer {secret_of(make_user())}", "Connection": "close"},
    )

    prices = {model["id"]: model["pricing"] for model in response.json()["data"]}
    assert prices["tiny-base"] == {
        "currency": "OPEN",
        "input_per_1k_tokens": "0.001",
        "output_per_1k_tokens": "0.002",
        "per_request": "0.0001",
    }
    assert prices["free-tiny"] == {
        "currency": "OPEN",
        "input_per_1k_tokens": "0",
        "output_per_1k_tokens": "0",
        "per_request": "0",
    }
