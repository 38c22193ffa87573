"""Celery tasks of billing: thin wrappers around the services."""

from __future__ import annotations

import logging

from celery import shared_task

from modelfactory.billing.services import reservations_release_stale

logger = logging.getLogger(__name__)


@shared_task(name="modelfactory.billing.tasks.release_stale_reservations", acks_late=True, ignore_result=True)
def release_stale_reservations() -> int:
    """Beat-scheduled: give back what answers of a web process that died mid-answer still hold."""
    released = reservations_release_stale()
    if released:
        logger.warning("released %s reservation(s) of answers that never ended", released)
    return released
