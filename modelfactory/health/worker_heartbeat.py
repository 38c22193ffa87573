"""A daemon thread inside each Celery worker that records it is alive.

The SQLAlchemy broker of the embedded setup has no broadcast channel, so `celery inspect ping`
cannot reach workers there; a heartbeat row in the database works with every broker.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger(__name__)

_stop = threading.Event()
_thread: threading.Thread | None = None


def start_heartbeat_thread(*, hostname: str, queues: list[str]) -> None:
    global _thread
    if _thread is not None and _thread.is_alive():
        return
    _stop.clear()
    interval = settings.MODELFACTORY_WORKER_HEARTBEAT_S
    _thread = threading.Thread(
        target=_beat, args=(hostname, queues, interval), name="modelfactory-heartbeat", daemon=True
    )
    _thread.start()


def begin_signing_off() -> None:
    """Tell the heartbeat thread to stop beating and remove this worker's heartbeat; return at once.

    Called from the SIGTERM handler (Celery's `worker_shutting_down`), so the sign-off is written
    while Celery's polling loop notices the signal, which on the SQLAlchemy broker takes up to three
    seconds. Supervisors (honcho after five seconds, systemd, Kubernetes) kill a worker that does not
    exit soon after SIGTERM; writing to the database only after that loop is what pushed the worker
    past them. Setting an event is all a signal handler may safely do; the heartbeat thread itself
    signs off, so no beat can land after the removal.
    """
    _stop.set()


def stop_heartbeat_thread(*, wait_s: float = 1.0) -> None:
    """Wait at most `wait_s` for the sign-off: a shutdown must never hang on the database.

    If the sign-off cannot be written in time, the heartbeat simply goes stale and the worker is
    reported down a little later, which is the same outcome.
    """
    begin_signing_off()
    if _thread is not None:
        _thread.join(timeout=wait_s)


def _sign_off(hostname: str) -> None:
    from modelfactory.health.models import Heartbeat
    from modelfactory.health.services import heartbeat_forget

    try:
        heartbeat_forget(kind=Heartbeat.Kind.WORKER, name=hostname)
    except Exception:  # shutting down: a database hiccup must not block the exit
        logger.warning("could not remove the heartbeat of %s", hostname, exc_info=True)
    finally:
        close_old_connections()


def _beat(hostname: str, queues: list[str], interval: float) -> None:
    from modelfactory.health.models import Heartbeat
    from modelfactory.health.services import heartbeat_record

    while not _stop.is_set():
        try:
            heartbeat_record(kind=Heartbeat.Kind.WORKER, name=hostname, detail={"queues": queues})
        except Exception:
            logger.warning("heartbeat of %s failed; retrying", hostname, exc_info=True)
        finally:
            close_old_connections()
        _stop.wait(interval)
    _sign_off(hostname)
