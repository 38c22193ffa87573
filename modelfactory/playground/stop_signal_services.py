"""The answers this process is generating, and Stop for them from whichever replica the Stop reaches.

Behind a router the Stop request may land on another web replica than the one streaming the answer, and
an engine's request can only be cancelled in its own process. So Stop does both: it cancels here if the
answer runs here, and it marks the answer's row (`stop_requested`). A thread of each process that has
answers in flight reads those marks every `POLL_S` (one query for all of them) and cancels the ones it
holds; with nothing in flight it stops, so an idle replica sends no queries.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from django.db import close_old_connections, connection

from modelfactory.playground.models import Message

if TYPE_CHECKING:
    from inference.request import RequestHandle

POLL_S = 0.5
logger = logging.getLogger(__name__)

_in_flight: dict[int, RequestHandle] = {}
_lock = threading.Lock()
_watcher: threading.Thread | None = None


def track(answer_id: int, handle: RequestHandle) -> None:
    """Remember an answer this process streams, and make sure Stops from other replicas are watched for."""
    global _watcher
    with _lock:
        _in_flight[answer_id] = handle
        if _watcher is None or not _watcher.is_alive():
            _watcher = threading.Thread(target=_watch, name="playground-stop-watch", daemon=True)
            _watcher.start()


def untrack(answer_id: int) -> None:
    with _lock:
        _in_flight.pop(answer_id, None)


def stop(answer_id: int) -> None:
    """Stop an answer wherever it runs: at once if here, within `POLL_S` on another replica."""
    Message.objects.filter(pk=answer_id, status=Message.Status.STREAMING).update(stop_requested=True)
    _cancel_here([answer_id])


def _cancel_here(answer_ids: list[int]) -> None:
    with _lock:
        handles = [_in_flight[answer_id] for answer_id in answer_ids if answer_id in _in_flight]
    for handle in handles:
        handle.cancel()


def _watch() -> None:
    global _watcher
    try:
        while True:
            time.sleep(POLL_S)
            with _lock:
                watched = list(_in_flight)
                if not watched:
                    _watcher = None
                    return
            try:
                close_old_connections()
                stopped = list(
                    Message.objects.filter(pk__in=watched, stop_requested=True).values_list("pk", flat=True)
                )
            except Exception:  # a database hiccup must not end the watch: the next poll tries again
                logger.exception("could not read stop requests")
                continue
            _cancel_here(stopped)
    finally:
        connection.close()
