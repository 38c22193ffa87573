from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def import_adapter(import_id: int) -> None:
    """Unpack and check an uploaded adapter zip on a worker, never in the web process that serves answers.

    Idempotent (an import already ended does nothing); a message whose workers keep dying is stopped by
    the attempt count in its row (`services.adapter_import_run`). Time limits: `CELERY_TASK_ANNOTATIONS`.
    """
    from modelfactory.catalog.services import adapter_import_run

    adapter_import_run(import_id=import_id)


@shared_task(name="modelfactory.catalog.tasks.resend_lost_imports", acks_late=True, ignore_result=True)
def resend_lost_imports() -> list[int]:
    """Beat-scheduled: an adapter import whose message was lost is sent again."""
    from modelfactory.catalog.services import adapter_imports_resend_lost

    return adapter_imports_resend_lost()
