"""The official `openai` client works unchanged against /v1/: models, chat, completions, streams, receipts."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from modelfactory.api.models import ApiKey
from modelfactory.billing.models import Reservation
from modelfactory.catalog.models import PublishedModel
from modelfactory.ledger.models import InferenceReceipt
from modelfactory.serving import engine_runtime
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)

HELLO = [{"role": "user", "content": "What is 2 plus 3?"}]


def private_model(api_name: str = "secret-sauce") -> PublishedModel:
    base = PublishedModel.objects.get(api_name="tiny-base")
    return PublishedModel.objects.create(
        api_name=api_name,
        title="Private",
        kind=PublishedModel.Kind.BASE,
        base_model=base.base_model,
        owner=make_user("someone-else"),
        access=PublishedModel.Access.ALLOW_LIST,
    )


def test_the_client_lists_the_models_its_user_may_call_and_not_private_ones(openai_client):
    private_model()

    names = [model.id for model in openai_client.models.list()]

    assert names == ["tiny-base"]
    assert openai_client.models.retrieve("tiny-base").owned_by == "modelfactory"


def test_a_chat_completion_answers_with_usage_counts_and_its_receipt_in_field_and_header(openai_client):
    raw = openai_client.chat.completions.with_raw_response.create(
        model="tiny-base", messages=HELLO, max_tokens=5, temperature=0
    )
    completion = raw.parse()

    prompt_tokens = len(engine_runtime.engine().tokenizer(engine_runtime.chat_prompt(HELLO))["input_ids"])
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content
    assert completion.choices[0].finish_reason in ("stop", "length")
    assert completion.usage.prompt_tokens == prompt_tokens
    assert 1 <= completion.usage.completion_tokens <= 5
    assert completion.usage.total_tokens == prompt_tokens + completion.usage.completion_tokens
    assert raw.headers["X-Attribution-Receipt"] == completion.attribution_receipt
    receipt = InferenceReceipt.objects.get(receipt_id=completion.attribution_receipt)
    assert (receipt.tokens_in, receipt.tokens_out) == (prompt_tokens, completion.usage.completion_tokens)
    key = ApiKey.objects.get()
    assert (key.requests, key.tokens_out) == (1, completion.usage.completion_tokens)


def test_a_streamed_chat_completion_concatenates_to_the_same_answer_and_ends_with_usage(openai_client):
    whole = openai_client.chat.completions.create(
        model="tiny-base", messages=HELLO, max_tokens=8, temperature=0
    )

    chunks = list(
        openai_client.chat.completions.create(
            model="tiny-base",
            messages=HELLO,
            max_tokens=8,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
    )

    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == whole.choices[0].message.content
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] in ("stop", "length")
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens
    assert InferenceReceipt.objects.filter(receipt_id=chunks[-1].attribution_receipt).exists()


def test_text_completions_answer_n_choices_streamed_or_not(openai_client):
    whole = openai_client.completions.create(
        model="tiny-base", prompt="Once upon a time", max_tokens=4, n=2, temperature=0.8, seed=7
    )
    streamed = openai_client.completions.create(
        model="tiny-base", prompt="Once upon a time", max_tokens=4, n=2, temperature=0.8, seed=7, stream=True
    )

    texts = {0: "", 1: ""}
    for chunk in streamed:
        for choice in chunk.choices:
            texts[choice.index] += choice.text
    assert [choice.index for choice in whole.choices] == [0, 1]
    assert [choice.text for choice in whole.choices] == [texts[0], texts[1]]
    assert 2 <= whole.usage.completion_tokens <= 8


def test_the_attribution_endpoint_reads_receipts_by_id_as_their_public_page_does(live_server, openai_client):
    """Receipts are public records (listed by the epoch explorer, settled on chain): any key reads one by
    its id, as anyone reads its page; an unknown id is 404. Only the evidence inside is gated."""
    completion = openai_client.completions.create(model="tiny-base", prompt="Hello", max_tokens=3)
    from modelfactory.api.services import api_key_create

    stranger_secret = api_key_create(user=make_user("stranger"), name="theirs")[1]
    url = f"{live_server.url}/v1/attribution/{completion.attribution_receipt}"

    def read(url: str, secret: str) -> httpx.Response:
        return httpx.get(url, headers={"Authorization": f"Bearer {secret}", "Connection": "close"})

    mine = read(url, openai_client.api_key)
    theirs = read(url, stranger_secret)
    missing = read(f"{live_server.url}/v1/attribution/{uuid.uuid4()}", stranger_secret)
    page = httpx.get(
        f"{live_server.url}/receipts/{completion.attribution_receipt}/", headers={"Connection": "close"}
    )

    assert mine.status_code == 200
    assert mine.json()["id"] == completion.attribution_receipt
    assert mine.json()["model"] == "tiny-base"
    assert mine.json()["usage"]["completion_tokens"] == completion.usage.completion_tokens
    assert theirs.status_code == 200
    assert page.status_code == 200
    assert theirs.json()["fee"] == mine.json()["fee"]
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "receipt_not_found"


def test_a_client_that_disconnects_mid_stream_cancels_its_generation(live_server, openai_client, monkeypatch):
    running = engine_runtime.engine()
    step = running.step

    def slow_step() -> bool:  # a token per 10 ms: the answer is still running when the client leaves
        time.sleep(0.01)
        return step()

    monkeypatch.setattr(running, "step", slow_step)
    before = running.stats()["cancelled"]
    body = {"model": "tiny-base", "prompt": "Once", "max_tokens": 100, "stream": True, "ignore_eos": True}
    with httpx.stream(
        "POST",
        f"{live_server.url}/v1/completions",
        json=body,
        headers={"Authorization": f"Bearer {openai_client.api_key}", "Connection": "close"},
    ) as response:
        assert response.status_code == 200
        next(response.iter_lines())

    deadline = time.monotonic() + 10
    while running.stats()["cancelled"] == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running.stats()["cancelled"] == before + 1

    # The server closes the answer after cancelling it: the tokens sent are charged, nothing stays held
    # (and the test ends only once the server has stopped writing, so the database can be flushed).
    while Reservation.objects.filter(status=Reservation.Status.OPEN).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    reservation = Reservation.objects.get()
    assert reservation.status == Reservation.Status.SETTLED
    assert reservation.receipt is not None
    assert reservation.receipt.tokens_out >= 1


def test_a_stop_string_or_list_ends_the_answer_before_it(openai_client):
    # ignore_eos: the tiny model always says 12 tokens, so there is always something to cut.
    ask = {
        "model": "tiny-base",
        "prompt": "Once upon a time",
        "max_tokens": 12,
        "temperature": 0,
        "extra_body": {"ignore_eos": True},
    }
    free = openai_client.completions.create(**ask).choices[0].text
    stop = free.strip()[len(free.strip()) // 2 :][:2]
    assert stop, f"the model said nothing to cut: {free!r}"

    as_string = openai_client.completions.create(**ask, stop=stop).choices[0]
    as_list = openai_client.completions.create(**ask, stop=["never-said", stop]).choices[0]

    assert as_string.text == free[: free.find(stop)]
    assert as_string.finish_reason == "stop"
    assert as_list.text == as_string.text
