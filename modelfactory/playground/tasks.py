"""Celery tasks of the playground: thin wrappers around the services."""

from __future__ import annotations

import logging

from celery import shared_task

from modelfactory.playground.services import answers_fail_abandoned

logger = logging.getLogger(__name__)


@shared_task(name="modelfactory.playground.tasks.fail_abandoned_answers", acks_late=True, ignore_result=True)
def fail_abandoned_answers() -> int:
    """Beat-scheduled: answers whose web process died mid-answer say so instead of streaming for ever."""
    failed = answers_fail_abandoned()
    if failed:
        logger.warning("failed %s answer(s) abandoned by a web process that went away", failed)
    return failed
