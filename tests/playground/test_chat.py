"""Chatting in the playground: conversations per user, answers streamed as SSE, receipts, access control."""

from __future__ import annotations

import pytest

from modelfactory.ledger.models import InferenceReceipt
from modelfactory.playground.models import Conversation, Message
from modelfactory.playground.selectors import history_for
from modelfactory.serving import engine_runtime
from tests.playground.playground_support import (
    parse_events,
    private_model,
    publish_tiny_base,
    slow_talkative_engine,
    streamed,
)
from tests.support.factories import make_user
from tests.support.funding import fund

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat_model(use_tiny_base_model):
    yield publish_tiny_base(use_tiny_base_model)
    engine_runtime.shutdown()


@pytest.fixture
def alice(client):
    user = make_user("alice")
    fund(user)  # every answer is paid for; refusals have their own tests (tests/billing)
    client.force_login(user)
    return user


def send(client, message: str = "What is 2 plus 3?", **fields):
    data = {"model": "tiny-base", "temperature": "0", "top_p": "1", "max_tokens": "8", "message": message}
    return client.post("/playground/send/", {**data, **fields})


def test_the_playground_offers_the_models_the_user_may_use_and_an_empty_history(client, alice, chat_model):
    private_model(api_name="not-yours")

    page = client.get("/playground/").content.decode()

    assert 'value="tiny-base"' in page
    assert "not-yours" not in page
    assert "No conversations yet" in page


def test_sending_a_message_starts_a_conversation_with_a_pending_answer(client, alice, chat_model):
    response = send(client, system_prompt="Answer briefly.", temperature="0.3", max_tokens="12")

    assert response.status_code == 201
    conversation = Conversation.objects.get(user=alice)
    assert conversation.title == "What is 2 plus 3?"
    assert conversation.model_names == ["tiny-base"]
    assert conversation.system_prompt == "Answer briefly."
    assert conversation.settings == {"temperature": 0.3, "top_p": 1.0, "max_tokens": 12}
    answer = Message.objects.get(role="assistant")
    assert answer.status == "pending"
    assert answer.model_name == "tiny-base"
    assert response.json()["answers"][0]["stream_url"] == f"/playground/stream/{answer.pk}/"


def test_the_stream_sends_tokens_then_done_with_a_receipt_naming_the_model(client, alice, chat_model):
    stream_url = send(client).json()["answers"][0]["stream_url"]

    events = streamed(client.get(stream_url))

    names = [name for name, _ in events]
    assert names[-1] == "done"
    assert set(names[:-1]) <= {"token"}
    tokens = [data["text"] for name, data in events if name == "token"]
    done = events[-1][1]
    receipt = InferenceReceipt.objects.get(receipt_id=done["receipt_id"])
    assert receipt.model_name == "tiny-base"
    assert receipt.base_model == "tiny-base"
    assert receipt.user == alice
    assert receipt.tokens_in > 0
    answer = Message.objects.get(role="assistant")
    assert answer.status == "done"
    assert answer.receipt == receipt
    assert answer.content == "".join(tokens)


def test_reconnecting_to_a_finished_answer_replays_it_instead_of_generating_again(client, alice, chat_model):
    stream_url = send(client).json()["answers"][0]["stream_url"]
    first = streamed(client.get(stream_url))

    again = streamed(client.get(stream_url))

    assert again[-1] == first[-1]
    assert InferenceReceipt.objects.count() == 1


def test_the_attribution_panel_of_a_base_model_answer_shows_the_base_model_and_no_datanet(
    client, alice, chat_model
):
    done = streamed(client.get(send(client).json()["answers"][0]["stream_url"]))[-1][1]

    panel = client.get(f"/playground/receipts/{done['receipt_id']}/attribution/").content.decode()

    assert "tiny-base" in panel
    assert "not fine-tuned on community data" in panel
    assert 'data-status="lineage"' in panel
    assert "hx-trigger" not in panel
    page = client.get(f"/playground/c/{Conversation.objects.get().pk}/").content.decode()
    assert f"/playground/receipts/{done['receipt_id']}/attribution/" in page


def test_a_private_model_is_refused_even_through_a_crafted_post(client, alice, chat_model):
    private_model(api_name="private-sums")

    for fields in ({"model": "private-sums"}, {"compare_model": "private-sums"}):
        response = send(client, **fields)
        assert response.status_code == 404  # the same answer as for a model that does not exist
        assert (
            response.json()["error"]
            == "The model 'private-sums' does not exist or you do not have access to it."
        )
    assert send(client, model="no-such-model").status_code == 404
    assert not Message.objects.exists()


def test_the_private_model_is_usable_by_its_owner(client, chat_model):
    owner = make_user("owner")
    fund(owner)
    private_model(owner=owner, api_name="private-sums")
    client.force_login(owner)

    assert 'value="private-sums"' in client.get("/playground/").content.decode()
    assert send(client, model="private-sums").status_code == 201


def test_losing_access_after_sending_ends_the_stream_with_an_error(client, chat_model):
    owner = make_user("owner")
    fund(owner)
    model = private_model(owner=owner, api_name="private-sums")
    client.force_login(owner)
    stream_url = send(client, model="private-sums").json()["answers"][0]["stream_url"]
    model.owner = make_user()
    model.save()

    events = streamed(client.get(stream_url))

    assert events[-1][0] == "error"
    assert "do not have access" in events[-1][1]["message"]
    assert Message.objects.get(role="assistant").status == "failed"
    assert not InferenceReceipt.objects.exists()


def test_conversations_are_kept_per_user_newest_first(client, alice, chat_model):
    send(client, "first chat")
    send(client, "second chat")
    conversation = Conversation.objects.get(title="first chat")
    send(client, "a follow-up", conversation=conversation.pk)
    bob = make_user("bob")
    fund(bob)
    client.force_login(bob)
    send(client, "bob's chat")

    client.force_login(alice)
    sidebar = client.get("/playground/conversations/").content.decode()

    assert "bob&#x27;s chat" not in sidebar
    assert sidebar.index("first chat") < sidebar.index("second chat")  # the follow-up made it the newest
    assert conversation.messages.filter(role="user").count() == 2
    bob_conversation = Conversation.objects.get(user=bob)
    assert client.get(f"/playground/c/{bob_conversation.pk}/").status_code == 404
    bob_answer = bob_conversation.messages.get(role="assistant")
    assert client.get(f"/playground/stream/{bob_answer.pk}/").status_code == 404
    assert client.post(f"/playground/stop/{bob_answer.pk}/").status_code == 404
    assert send(client, "sneaky", conversation=bob_conversation.pk).status_code == 404


def test_side_by_side_gives_two_answers_and_each_model_keeps_its_own_thread(client, alice, chat_model):
    owner_model = private_model(owner=alice, api_name="my-copy")
    payload = send(client, compare_model=owner_model.api_name).json()
    assert [answer["model"] for answer in payload["answers"]] == ["tiny-base", "my-copy"]
    for answer in payload["answers"]:
        assert streamed(client.get(answer["stream_url"]))[-1][0] == "done"

    send(client, "and then?", conversation=payload["conversation_id"], compare_model="my-copy")

    second = Message.objects.filter(role="assistant", model_name="my-copy").last()
    history = history_for(second)
    first_answer = Message.objects.filter(role="assistant", model_name="my-copy").first().content
    assert [turn["role"] for turn in history] == ["user", "assistant", "user"]
    assert history[1]["content"] == first_answer


def test_stopping_a_pending_answer_keeps_it_from_generating(client, alice, chat_model):
    answer = send(client, max_tokens="2000").json()["answers"][0]

    assert client.post(answer["stop_url"]).json()["status"] == "stopped"

    events = streamed(client.get(answer["stream_url"]))
    assert events[-1] == (
        "done",
        {"message_id": answer["message_id"], "status": "stopped", "receipt_id": None, "html": ""},
    )


@pytest.mark.parametrize(
    ("field", "value"), [("temperature", "3"), ("top_p", "0"), ("max_tokens", "0"), ("max_tokens", "lots")]
)
def test_invalid_settings_are_refused_naming_the_field(client, alice, chat_model, field, value):
    response = send(client, **{field: value})

    assert response.status_code == 400
    assert response.json()["error"].startswith(field)


def test_the_playground_needs_a_login(client):
    assert client.get("/playground/").status_code == 302


def test_under_asgi_the_stream_is_an_async_generator_with_the_same_events(client, alice, chat_model):
    """uvicorn serves the site: a sync iterator there would be buffered into one late blob."""
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    stream_url = send(client).json()["answers"][0]["stream_url"]
    async_client = AsyncClient()
    async_client.cookies = client.cookies

    async def read() -> tuple[bool, str]:
        response = await async_client.get(stream_url)
        chunks = [chunk async for chunk in response.streaming_content]
        return response.is_async, b"".join(chunks).decode()

    is_async, body = async_to_sync(read)()

    assert is_async
    events = parse_events(body)
    assert events[-1][0] == "done"
    assert events[-1][1]["status"] == "done"
    assert InferenceReceipt.objects.get(receipt_id=events[-1][1]["receipt_id"]).model_name == "tiny-base"


def test_stop_cancels_a_running_answer_and_keeps_its_partial_text_and_receipt(
    client, alice, chat_model, monkeypatch
):
    slow_talkative_engine(monkeypatch, seconds_per_step=0.02)
    answer = send(client, max_tokens="4000").json()["answers"][0]
    chunks = iter(client.get(answer["stream_url"]).streaming_content)
    for chunk in chunks:
        if chunk.startswith(b"event: token"):
            break

    client.post(answer["stop_url"])

    events = parse_events(b"".join(chunks).decode())
    assert events[-1][0] == "done"
    assert events[-1][1]["status"] == "stopped"
    stopped = Message.objects.get(role="assistant")
    assert stopped.status == "stopped"
    assert stopped.content
    receipt = InferenceReceipt.objects.get(receipt_id=events[-1][1]["receipt_id"])
    assert 0 < receipt.tokens_out < 100


def test_a_long_conversation_drops_its_oldest_turns_instead_of_failing(client, alice, chat_model):
    """The tiny model's context is 128 tokens: the fourth long prompt would not fit with the first three."""
    long_prompt = "Please add these numbers for me: " + " plus ".join(str(n) for n in range(1, 12))
    conversation_id = ""
    for _ in range(4):
        payload = send(client, long_prompt, conversation=conversation_id).json()
        conversation_id = payload["conversation_id"]
        assert streamed(client.get(payload["answers"][0]["stream_url"]))[-1][0] == "done"

    assert Message.objects.filter(role="assistant", status="done").count() == 4


def test_a_catalog_link_can_preselect_the_models_but_not_a_private_one(client, alice, chat_model):
    private_model(owner=alice, api_name="mine")
    private_model(api_name="not-mine")

    page = client.get("/playground/?model=tiny-base&compare=mine").content.decode()
    assert 'value="tiny-base" selected' in page
    assert 'value="mine" selected' in page
    page = client.get("/playground/?model=not-mine").content.decode()
    assert "not-mine" not in page
