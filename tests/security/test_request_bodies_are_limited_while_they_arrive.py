"""An unauthenticated client cannot fill the disk with a request body: the ASGI entry point cuts it off
while it arrives, before Django stores it (Django spools a whole body before any of its own checks)."""

from __future__ import annotations

import asyncio
import json

import pytest

from modelfactory.request_body_limit import RequestBodyLimit
from tests.support.asgi_calls import run_async_in_own_thread

pytestmark = pytest.mark.django_db(transaction=True)

CHUNK = b"x" * 65536


def run(app, path: str, chunks: int, headers: list[tuple[bytes, bytes]] | None = None) -> tuple[dict, int]:
    """POST `chunks` chunks of 64 KiB to `path`; (the response, how many chunks the server pulled)."""
    pulled = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal pulled
        pulled += 1
        if pulled > chunks:  # a client that sent everything waits for the answer: no disconnect
            await asyncio.Event().wait()
        return {"type": "http.request", "body": CHUNK, "more_body": pulled < chunks}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    async def call() -> None:
        await app(scope, receive, send)

    run_async_in_own_thread(call)
    start = next(message for message in sent if message["type"] == "http.response.start")
    body = b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body")
    return {"status": start["status"], "body": body}, pulled


@pytest.fixture
def application(settings):
    settings.MODELFACTORY_REQUEST_MAX_BYTES = 1024 * 1024
    settings.MODELFACTORY_UPLOAD_MAX_BYTES = 3 * 1024 * 1024
    from django.core.asgi import get_asgi_application

    return RequestBodyLimit(
        get_asgi_application(),
        default_limit=settings.MODELFACTORY_REQUEST_MAX_BYTES,
        limits={"/datanets/*/upload/": settings.MODELFACTORY_UPLOAD_MAX_BYTES},
    )


def test_a_chunked_api_body_past_the_limit_is_cut_off_with_413_before_django_reads_the_rest(application):
    response, pulled = run(application, "/v1/chat/completions", chunks=10_000)  # 640 MB offered

    assert response["status"] == 413
    assert json.loads(response["body"])["error"]["code"] == "request_too_large"
    assert pulled <= 1024 * 1024 // len(CHUNK) + 1  # stopped at the first chunk past 1 MiB


def test_a_declared_content_length_past_the_limit_is_refused_before_a_byte_is_read(application):
    response, pulled = run(
        application, "/accounts/signup/", chunks=1, headers=[(b"content-length", str(10**12).encode())]
    )

    assert response["status"] == 413
    assert pulled == 0


def test_an_upload_path_takes_its_own_larger_limit_and_other_paths_of_the_datanet_do_not(application):
    uploading, _ = run(application, "/datanets/demo/upload/", chunks=32)  # 2 MiB: within the upload limit
    contributing, _ = run(application, "/datanets/demo/contribute/", chunks=32)

    assert uploading["status"] != 413  # Django answers it (CSRF, login...): the body was let through
    assert contributing["status"] == 413


def test_a_small_body_reaches_django_unchanged(application):
    response, _ = run(application, "/v1/chat/completions", chunks=1)

    assert response["status"] == 401  # no API key: Django's own answer, after reading the body


def test_path_patterns_match_one_segment_per_star():
    limits = RequestBodyLimit(None, default_limit=1, limits={"/datanets/*/upload/": 5, "/models/import/": 9})

    assert limits.limit_for("/datanets/lumen/upload/") == 5
    assert limits.limit_for("/datanets/lumen/uploads/3/") == 1
    assert limits.limit_for("/datanets/upload/") == 1
    assert limits.limit_for("/models/import/") == 9
    assert limits.limit_for("/v1/completions") == 1
