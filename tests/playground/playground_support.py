"""Building blocks for playground tests: the tiny base model as a chat model, a private model, SSE parsing."""

from __future__ import annotations

import json

from modelfactory.catalog.models import PublishedModel
from tests.finetuning.jobs_support import register_tiny
from tests.support.factories import make_user


def publish_tiny_base(tiny_base_model) -> PublishedModel:
    """Registering a base model publishes it as itself, public: the simplest model anyone may chat with."""
    register_tiny(tiny_base_model)
    return PublishedModel.objects.get(api_name="tiny-base")


def private_model(*, owner=None, api_name: str = "secret-sauce") -> PublishedModel:
    """An allow-listed model on the tiny base; only its owner (and grantees) may use it."""
    base = PublishedModel.objects.get(api_name="tiny-base")
    return PublishedModel.objects.create(
        api_name=api_name,
        title="Secret sauce",
        kind=PublishedModel.Kind.BASE,
        base_model=base.base_model,
        owner=owner or make_user(),
        access=PublishedModel.Access.ALLOW_LIST,
    )


def parse_events(body: str) -> list[tuple[str, dict]]:
    """Server-sent event frames as (event name, JSON data); comments are skipped."""
    events = []
    for frame in body.split("\n\n"):
        lines = [line for line in frame.splitlines() if line and not line.startswith(":")]
        if not lines:
            continue
        fields = dict(line.split(": ", 1) for line in lines)
        events.append((fields.get("event", "message"), json.loads(fields["data"])))
    return events


def streamed(response) -> list[tuple[str, dict]]:
    assert response["Content-Type"].startswith("text/event-stream")
    return parse_events(b"".join(response.streaming_content).decode())


def slow_talkative_engine(monkeypatch, *, seconds_per_step: float) -> None:
    """Make the process's engine write slowly and never end a turn on its own.

    The tiny model answers in about seven tokens and ten milliseconds: too fast to watch a stream
    or to press Stop. This starts the shared engine and slows each step, and ignores end-of-turn,
    so answers run to max_tokens (or the context) at a pace a test can observe.
    """
    import time

    from modelfactory.serving import engine_runtime

    running = engine_runtime.engine()
    execute = running.runner.execute

    def slow_execute(*args, **kwargs):
        time.sleep(seconds_per_step)
        return execute(*args, **kwargs)

    monkeypatch.setattr(running.runner, "execute", slow_execute)
    monkeypatch.setattr(running, "eos_token_ids", frozenset())
