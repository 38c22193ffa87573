"""Under ASGI (uvicorn, production) a client that hangs up cancels the view's task: the answer's hold must
still be closed, charged for what was produced, whether the answer was streamed or not."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler

from modelfactory.billing.models import Reservation
from modelfactory.billing.selectors import balance_of, reservations_open
from tests.playground.playground_support import slow_talkative_engine
from tests.support.asgi_calls import run_async_in_own_thread
from tests.support.factories import make_user
from tests.support.funding import OPEN, fund

pytestmark = pytest.mark.django_db(transaction=True)


def call_and_hang_up(body: dict, secret: str, *, after_s: float, user) -> list[dict]:
    """POST /v1/completions to Django's ASGI handler as uvicorn would, then disconnect after `after_s`;
    the event loop stays up until the user's reservations are closed (uvicorn's never goes away)."""
    raw = json.dumps(body).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/completions",
        "raw_path": b"/v1/completions",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {secret}".encode()),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
    }
    incoming = [{"type": "http.request", "body": raw, "more_body": False}]
    sent: list[dict] = []

    async def receive() -> dict:
        if incoming:
            return incoming.pop()
        await asyncio.sleep(after_s)
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    async def run() -> None:
        await ASGIHandler()(scope, receive, send)
        deadline = time.monotonic() + 20
        while await sync_to_async(lambda: reservations_open(user).exists())():
            assert time.monotonic() < deadline, "the hold was never closed"
            await asyncio.sleep(0.05)

    run_async_in_own_thread(run)
    return sent


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
def test_a_client_that_hangs_up_under_asgi_pays_for_the_tokens_produced_only(
    served, secret_of, monkeypatch, stream
):
    slow_talkative_engine(monkeypatch, seconds_per_step=0.05)
    user = make_user()
    fund(user, OPEN)
    body = {"model": "tiny-base", "prompt": "Tell me about lamps", "max_tokens": 100, "stream": stream}

    call_and_hang_up(body, secret_of(user), after_s=0.6, user=user)

    reservation = Reservation.objects.get(user=user)
    assert reservation.status == "settled"
    assert 1 <= reservation.receipt.tokens_out < 100
    assert reservation.charged == reservation.receipt.fee < reservation.amount
    assert balance_of(user).available == OPEN - reservation.charged
