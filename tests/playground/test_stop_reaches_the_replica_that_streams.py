"""Stop works whichever web replica it reaches: behind a router, the replica that streams an answer and the
one that receives Stop may differ, and only the first can cancel the engine's request."""

from __future__ import annotations

import time

import pytest

from modelfactory.playground import stop_signal_services
from modelfactory.playground.models import Message
from modelfactory.serving import engine_runtime
from tests.playground.playground_support import parse_events, publish_tiny_base, slow_talkative_engine
from tests.support.factories import make_user
from tests.support.funding import fund

pytestmark = pytest.mark.django_db(transaction=True)  # the watcher reads Stop from its own connection


@pytest.fixture
def chat_model(use_tiny_base_model):
    yield publish_tiny_base(use_tiny_base_model)
    engine_runtime.shutdown()


def test_stop_received_by_another_replica_cancels_the_answer_where_it_streams(
    client, chat_model, monkeypatch
):
    user = make_user("alice")
    fund(user)
    client.force_login(user)
    slow_talkative_engine(monkeypatch, seconds_per_step=0.1)
    form = {"model": "tiny-base", "temperature": "0", "top_p": "1", "max_tokens": "4000", "message": "Hi"}
    answer = client.post("/playground/send/", form).json()["answers"][0]
    chunks = iter(client.get(answer["stream_url"]).streaming_content)
    for chunk in chunks:
        if chunk.startswith(b"event: token"):
            break

    with monkeypatch.context() as elsewhere:  # the replica Stop reaches does not hold the engine request
        elsewhere.setattr(stop_signal_services, "_cancel_here", lambda answer_ids: None)
        client.post(answer["stop_url"])
    asked = time.monotonic()
    events = parse_events(b"".join(chunks).decode())
    took = time.monotonic() - asked

    assert events[-1][0] == "done"
    assert events[-1][1]["status"] == "stopped"
    assert Message.objects.get(role="assistant").stop_requested
    assert took < 6 * stop_signal_services.POLL_S  # within a few polls; filling the context would take 12 s
