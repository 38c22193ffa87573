"""Request bodies limited while they arrive, before anything stores them.

Under ASGI, Django reads a request's whole body into a spooled temporary file before it routes the request,
so no view, form or `DATA_UPLOAD_MAX_MEMORY_SIZE` check can stop an unauthenticated chunked POST of any
size from filling the disk: they all run after the body is stored. This ASGI wrapper sits in front of
Django and counts the bytes as they come: a declared `Content-Length` over the limit is refused before a
byte is read, and a body (chunked or lying about its length) that passes the limit is cut off there,
Django is told the client went away (it then sends nothing), and the client gets 413.

Limits are per path prefix, longest prefix first: uploads and adapter imports take their own (large)
limits, everything else a small default. The limits are settings, read when the wrapper is built.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

Scope = Mapping[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class RequestBodyLimit:
    """ASGI middleware: 413 for any HTTP request whose body exceeds the limit of its path."""

    def __init__(self, app: ASGIApp, *, default_limit: int, limits: Mapping[str, int] | None = None):
        self.app = app
        self.default_limit = default_limit
        # Longest prefix first, so /datanets/x/upload/ beats /datanets/.
        self.limits = sorted((limits or {}).items(), key=lambda item: -len(item[0]))

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.limits:
            if _matches(path, prefix):
                return limit
        return self.default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", "/"))
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, send, limit)
            return

        received = 0
        exceeded = False

        async def counted_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    await _refuse(scope, send, limit)
                    return {"type": "http.disconnect"}  # Django aborts the request and sends nothing
            return message

        async def guarded_send(message: Message) -> None:
            if not exceeded:  # the 413 is already on its way; the app may not answer too
                await send(message)

        await self.app(scope, counted_receive, guarded_send)


def _matches(path: str, prefix: str) -> bool:
    """A prefix with `*` matches one path segment there: /datanets/*/upload/ matches /datanets/x/upload/."""
    if "*" not in prefix:
        return path.startswith(prefix)
    parts, pattern = path.split("/"), prefix.split("/")
    if len(parts) < len(pattern):
        return False
    for part, expected in zip(parts, pattern[:-1], strict=False):
        if expected != "*" and part != expected:
            return False
    return parts[len(pattern) - 1].startswith(pattern[-1])


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(scope: Scope, send: Send, limit: int) -> None:
    text = f"The request body is larger than the {limit:,} bytes this address accepts."
    if scope.get("path", "").startswith("/v1/"):
        error = {"message": text, "type": "invalid_request_error", "param": None, "code": "request_too_large"}
        body, content_type = json.dumps({"error": error}).encode(), b"application/json"
    else:
        body, content_type = text.encode(), b"text/plain; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
