"""Under ASGI (the production server) a stream is an async iterator, so Django sends it as it comes.

Django buffers a stream whole when it must convert it between sync and async; these tests pin that
the ASGI path gets the async flavour and still speaks the same SSE protocol.
"""

from __future__ import annotations

import json

import pytest
from django.test import AsyncClient

from modelfactory.api.models import ApiKey
from tests.support.asgi_calls import run_async_in_own_thread

pytestmark = pytest.mark.django_db(transaction=True)


def test_under_asgi_a_chat_stream_is_async_and_ends_with_done_after_its_receipt(secret, tiny_base):
    async def fetch():
        response = await AsyncClient().post(
            "/v1/chat/completions",
            {
                "model": "tiny-base",
                "messages": [{"role": "user", "content": "Hi"}],
                "max_tokens": 4,
                "stream": True,
            },
            content_type="application/json",
            headers={"Authorization": f"Bearer {secret}"},
        )
        return response, [part async for part in response.streaming_content]

    response, parts = run_async_in_own_thread(fetch)

    events = b"".join(parts).decode().split("\n\n")
    assert response.is_async
    assert response["Content-Type"] == "text/event-stream"
    assert events[-2] == "data: [DONE]"
    first = json.loads(events[0].removeprefix("data: "))
    assert first["attribution_receipt"] == response["X-Attribution-Receipt"]
    assert ApiKey.objects.get().requests == 1
