"""Writes of heartbeats; called from worker threads and tasks, never from views."""

from __future__ import annotations

from django.utils import timezone

from modelfactory.health.models import Heartbeat


def heartbeat_record(*, kind: str, name: str, detail: dict | None = None) -> Heartbeat:
    heartbeat, _ = Heartbeat.objects.update_or_create(
        kind=kind, name=name, defaults={"last_seen": timezone.now(), "detail": detail or {}}
    )
    return heartbeat


def heartbeat_forget(*, kind: str, name: str) -> None:
    """A worker shutting down cleanly says so, so that it is not shown as crashed."""
    Heartbeat.objects.filter(kind=kind, name=name).delete()
