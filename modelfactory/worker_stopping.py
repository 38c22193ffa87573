"""Whether this worker process has been told to stop (SIGTERM: Ctrl-C on `make run`, a deploy, a scale-down).

Celery's warm shutdown waits for the tasks in flight, and a training job can run for hours: its worker
would be killed at the supervisor's grace (honcho's, Kubernetes' `terminationGracePeriodSeconds`) and
the job would lose every step since its last checkpoint, then count a death. Long tasks poll this
instead, stop at a safe point and hand their work back to the queue for the next worker.

Set from Celery's `worker_shutting_down` signal (modelfactory/celery.py), which runs inside the signal
handler: setting an event is all it does.
"""

from __future__ import annotations

import threading

_stopping = threading.Event()


def worker_stop_requested() -> None:
    """Record that this process was told to stop; safe to call from a signal handler."""
    _stopping.set()


def worker_is_stopping() -> bool:
    return _stopping.is_set()
