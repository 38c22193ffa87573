from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def import_upload(upload_id: int) -> None:
    """Import a large upload on a worker; idempotent, so a redelivered message does nothing twice.

    A message whose worker died is delivered again, but not for ever: the upload counts its attempts
    and fails with the reason past ``MODELFACTORY_TASK_MAX_ATTEMPTS``. Time limits are set in
    ``CELERY_TASK_ANNOTATIONS``.
    """
    from datanets.upload_services import upload_run_import

    upload_run_import(upload_id=upload_id)
