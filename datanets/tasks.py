from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def import_upload(upload_id: int) -> None:
    """Import a large upload on a worker; idempotent, so a redelivered message does nothing twice."""
    from datanets.uploads import upload_run_import

    upload_run_import(upload_id=upload_id)
