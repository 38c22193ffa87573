from __future__ import annotations

from celery import shared_task


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_finetune_job(self, job_id: int) -> None:
    """Train one job; thin and idempotent: `job_run` claims the job or does nothing."""
    from modelfactory.finetuning.services import job_run

    job_run(job_id=job_id, worker=self.request.hostname or "worker")


@shared_task(acks_late=True, ignore_result=True)
def recover_stalled_jobs() -> None:
    """Scheduled by beat: jobs whose worker died go back in the queue and resume from a checkpoint."""
    from modelfactory.finetuning.services import jobs_recover_stalled

    jobs_recover_stalled()


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def export_merged_model(job_id: int) -> None:
    """Fold the adapter into a copy of the base model and save it as a plain Hugging Face model.

    Redelivered when its worker dies, at most ``MODELFACTORY_TASK_MAX_ATTEMPTS`` times (counted on the
    job); bounded in time by ``CELERY_TASK_ANNOTATIONS``.
    """
    from modelfactory.finetuning.export_services import merged_export_run

    merged_export_run(job_id=job_id)
