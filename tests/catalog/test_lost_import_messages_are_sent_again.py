"""An adapter import whose Celery message was lost is sent again, instead of "waiting for a worker" for
ever; one just queued, or already running, is left alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from modelfactory.catalog.models import AdapterImport
from modelfactory.catalog.tasks import resend_lost_imports
from modelfactory.celery import app
from tests.finetuning.jobs_support import register_tiny
from tests.support.factories import make_user
from tests.support.workers import app_broker, queued_messages

pytestmark = pytest.mark.django_db


def an_import(base, name: str, *, status: str, sent_s_ago: int) -> AdapterImport:
    row = AdapterImport.objects.create(
        owner=make_user(),
        base_model=base,
        api_name=name,
        title=name,
        access="public",
        filename="adapter.zip",
        stored_path="/nonexistent/adapter.zip",
        size_bytes=1,
        status=status,
    )
    AdapterImport.objects.filter(pk=row.pk).update(queued_at=timezone.now() - timedelta(seconds=sent_s_ago))
    return row


def test_an_import_never_picked_up_gets_its_message_again(settings, use_tiny_base_model):
    settings.MODELFACTORY_JOB_RESEND_AFTER_S = 600
    base = register_tiny(use_tiny_base_model)
    lost = an_import(base, "lost", status=AdapterImport.Status.QUEUED, sent_s_ago=601)
    an_import(base, "recent", status=AdapterImport.Status.QUEUED, sent_s_ago=30)
    an_import(base, "running", status=AdapterImport.Status.IMPORTING, sent_s_ago=6000)

    with app_broker("memory://"):
        queued_messages("default")
        resent = resend_lost_imports()
        messages = queued_messages("default")

    assert resent == [lost.pk]
    assert messages == [{"task": "modelfactory.catalog.tasks.import_adapter", "args": f"({lost.pk},)"}]
    assert resend_lost_imports() == []  # sent again once, not on every sweep
    assert "modelfactory.catalog.tasks.resend_lost_imports" in {
        entry["task"] for entry in app.conf.beat_schedule.values()
    }
