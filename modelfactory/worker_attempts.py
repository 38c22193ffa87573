"""Counting a worker's starts on one row, so that a task message that kills its worker stops coming back.

Tasks are ``acks_late`` with ``reject_on_worker_lost``: a worker that dies mid-task gives its message back
and the next worker runs it again. That is right for a worker stopped by a deploy, and wrong for an input
that kills every worker that reads it (a file that decompresses to gigabytes, weights that exhaust
memory): its message would come back for ever, taking down each time the worker that also runs everyone
else's tasks. So every start is counted in the row the task works on (the upload, the job, the export,
the import), committed before the work begins, since the work's own transaction would roll the count
back with it; a start past ``MODELFACTORY_TASK_MAX_ATTEMPTS`` fails the row with the reason instead.

A start is counted, not a death, because a dying worker cannot write anything: a row whose task finishes
leaves the state the task runs in, so the starts of a row still in that state are the deaths.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone


def attempt_begin(rows: QuerySet, *, field: str = "attempts") -> int:
    """Count one more start on the one row of ``rows``, committed at once; returns the new count."""
    with transaction.atomic():
        rows.update(**{field: F(field) + 1})
        return rows.values_list(field, flat=True).get()


def attempts_exhausted(attempts: int) -> bool:
    """True for a start after the last one allowed: every earlier start ended with its worker dead."""
    return attempts > settings.MODELFACTORY_TASK_MAX_ATTEMPTS


def worker_died_reason(doing: str) -> str:
    """What the row's page says, e.g. "the worker died 3 times while importing this file"."""
    times = settings.MODELFACTORY_TASK_MAX_ATTEMPTS
    return f"the worker died {times} time{'s' if times != 1 else ''} while {doing}"


def message_maybe_lost() -> Q:
    """Rows whose task message was sent (``queued_at``, else ``created`` for rows from before it was
    recorded) more than MODELFACTORY_JOB_RESEND_AFTER_S ago: filter the rows still waiting with it, and
    send theirs again. A duplicate of a message that was only slow is a no-op: every task claims its row.
    """
    sent_before = timezone.now() - timedelta(seconds=settings.MODELFACTORY_JOB_RESEND_AFTER_S)
    return Q(queued_at__lt=sent_before) | Q(queued_at__isnull=True, created__lt=sent_before)
