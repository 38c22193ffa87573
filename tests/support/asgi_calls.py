"""Running an ASGI coroutine, or anything that starts its own event loop, from a sync test, whatever
earlier tests left behind.

Playwright's sync API (the browser tests) keeps an event loop marked running in the main thread for the
rest of the session, and `async_to_sync` and `asyncio.run` refuse to start there. A thread of its own
has no loop.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

from asgiref.sync import async_to_sync
from django.db import connection

T = TypeVar("T")


def run_async_in_own_thread(function: Callable[[], Awaitable[T]], *, timeout: float = 60) -> T:
    """Await `function()` in a fresh thread and return its result (or raise what it raised)."""
    return run_in_own_thread(async_to_sync(function), timeout=timeout)


def run_in_own_thread(function: Callable[[], T], *, timeout: float = 60) -> T:
    """Call `function()` in a fresh thread and return its result (or raise what it raised)."""
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["result"] = function()
        except BaseException as error:
            outcome["error"] = error
        finally:
            connection.close()  # this thread's connection, never the test's

    thread = threading.Thread(target=target, name="asgi-call")
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"{function!r} did not finish within {timeout} s"
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["result"]  # type: ignore[return-value]
