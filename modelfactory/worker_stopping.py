"""Whether this worker process has been told to stop (SIGTERM: Ctrl-C on `make run`, a deploy, a scale-down).

Celery's warm shutdown waits for the tasks in flight, and a training job can run for hours: its worker
would be killed at the supervisor's grace (honcho's, Kubernetes' `terminationGracePeriodSeconds`) and
the job would lose every step since its last checkpoint, then count a death. Training polls this
instead, stops at a checkpoint and hands the job back to the queue for the next worker.

And a stopping worker starts nothing new: Celery's synchronous loop (the embedded broker's) runs one
more turn after SIGTERM, and a solo worker would run the message it takes there, to be killed at the
grace. `StopAwareTask`, the project's task class, gives such a message back to the broker instead.

Set from Celery's `worker_shutting_down` signal (modelfactory/celery.py), which runs inside the signal
handler: setting an event is all it does.
"""

from __future__ import annotations

import logging
import threading

from celery import Task
from celery.exceptions import Reject

_stopping = threading.Event()


def worker_stop_requested() -> None:
    """Record that this process was told to stop; safe to call from a signal handler."""
    _stopping.set()


def worker_is_stopping() -> bool:
    return _stopping.is_set()


class HandedBack(Reject):
    """A task given back to its queue, unstarted, because its worker is stopping."""


class StopAwareTask(Task):
    """Every task of the project: a task whose worker is stopping goes back to its queue unstarted.

    All tasks are `acks_late` and idempotent, so the next worker runs it as this one would have."""

    def __call__(self, *args, **kwargs):
        if worker_is_stopping():
            raise HandedBack(f"{self.name}: this worker is stopping; the next one runs it", requeue=True)
        return super().__call__(*args, **kwargs)


class _HandedBackWithoutTraceback(logging.Filter):
    """Celery logs every Reject as it logs a failure, with a traceback; a clean stop printing tracebacks
    reads as a crash. The warning line stays."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], HandedBack):
            record.exc_info = record.exc_text = None
        return True


logging.getLogger("celery.app.trace").addFilter(_HandedBackWithoutTraceback())
