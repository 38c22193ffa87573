"""What an operator may do to someone's fine-tuning job (the admin's actions), through the owner's services.

Re-queueing goes through the same services the owner's buttons and beat use (`job_resume`, `job_enqueue`),
so an operator's re-queue obeys the owner's limits and access exactly as the owner's would. Failing a
stuck job has no owner's equivalent (the owner cancels, which a hung worker never notices), so it is here.
"""

from __future__ import annotations

import logging

from django.utils import timezone

from modelfactory.finetuning.errors import JobRefused
from modelfactory.finetuning.models import FineTuneJob
from modelfactory.finetuning.services import job_enqueue, job_resume

logger = logging.getLogger(__name__)


def job_requeue(*, job: FineTuneJob, operator) -> str:
    """Queue the job to run (again); returns what was done.

    Failed or cancelled: resumed as its owner would resume it (from its last complete checkpoint, within
    the owner's job limit and datanet access). Queued: its task message is sent again, for a message lost
    with a broker (a duplicate is a no-op: the first worker to claim the job takes it). Running: refused,
    a job has one worker at a time; fail it first if its worker is stuck.
    """
    if job.status == FineTuneJob.Status.QUEUED:
        job_enqueue(job=job)
        outcome = f"its task message was sent again to the {job.queue} queue"
    elif job.status in (FineTuneJob.Status.FAILED, FineTuneJob.Status.CANCELLED):
        job_resume(job=job, user=job.owner)
        outcome = f"queued on {job.queue} to resume from its last checkpoint"
    else:
        raise JobRefused(
            f"a {job.get_status_display().lower()} job has a worker: wait for it, or fail it first if the "
            "worker is stuck"
        )
    logger.warning("job %s re-queued by operator %s: %s", job.pk, operator, outcome)
    return outcome


def job_fail(*, job: FineTuneJob, reason: str, operator) -> str:
    """Fail a queued or running job at once, with the reason its owner will read on the job's page.

    For a job whose worker hangs or is gone: its `worker` is cleared, so whatever that worker still writes
    (heartbeats, metrics, a final status) matches no row, and the job's slot in its owner's limit is free
    at once. A worker that is in fact alive trains on until its run ends and records nothing: for a healthy
    job, its owner's Cancel is the way (it stops within a step). The owner may resume a failed job.
    """
    reason = " ".join(reason.split())
    if not reason:
        raise JobRefused("give the reason: the job's owner reads it on the job's page")
    changed = FineTuneJob.objects.filter(pk=job.pk, status__in=FineTuneJob.ACTIVE).update(
        status=FineTuneJob.Status.FAILED,
        error=f"stopped by an operator: {reason}",
        finished=timezone.now(),
        worker="",
    )
    if not changed:
        raise JobRefused(f"a {job.get_status_display().lower()} job has already ended")
    logger.warning("job %s failed by operator %s: %s", job.pk, operator, reason)
    job.refresh_from_db()
    return f"failed ({reason})"
