from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def record_pipeline_heartbeat() -> None:
    """Scheduled by beat, run by a worker: its heartbeat proves beat → broker → worker works."""
    from modelfactory.health.models import Heartbeat
    from modelfactory.health.services import heartbeat_record

    heartbeat_record(kind=Heartbeat.Kind.PIPELINE, name="pipeline")
