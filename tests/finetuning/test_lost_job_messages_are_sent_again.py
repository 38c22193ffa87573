"""A queued job whose Celery message was lost gets it again after a while; one that was just queued
does not, and a duplicate delivery of a job already taken does nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from modelfactory.finetuning.models import FineTuneJob
from modelfactory.finetuning.services import job_claim, job_create, jobs_recover_stalled
from modelfactory.finetuning.training.spec import preset
from tests.finetuning.jobs_support import register_tiny, sums_datanet
from tests.support.factories import make_user
from tests.support.workers import app_broker, queued_messages

pytestmark = pytest.mark.django_db


def test_a_job_queued_long_ago_and_never_claimed_gets_its_message_again(settings, use_tiny_base_model):
    settings.MODELFACTORY_JOB_RESEND_AFTER_S = 600
    owner = make_user("ada")
    _, version = sums_datanet(owner)
    spec = preset("quick", "tiny-base", context_length=128, max_steps=1, max_seq_length=64).to_json()
    base = register_tiny(use_tiny_base_model)
    lost = job_create(owner=owner, name="lost", base_model=base, versions=[version], spec=spec)
    recent = job_create(owner=owner, name="recent", base_model=base, versions=[version], spec=spec)
    FineTuneJob.objects.filter(pk=lost.pk).update(queued_at=timezone.now() - timedelta(seconds=601))
    FineTuneJob.objects.filter(pk=recent.pk).update(queued_at=timezone.now() - timedelta(seconds=30))

    with app_broker("memory://"):
        queued_messages(lost.queue)  # whatever earlier tests left there
        resent = jobs_recover_stalled()
        messages = queued_messages(lost.queue)

    assert resent == [lost.pk]
    assert messages == [{"task": "modelfactory.finetuning.tasks.run_finetune_job", "args": f"({lost.pk},)"}]
    assert FineTuneJob.objects.get(pk=lost.pk).queued_at > timezone.now() - timedelta(seconds=5)
    assert jobs_recover_stalled() == []  # sent again once, not on every sweep
    assert job_claim(job_id=lost.pk, worker="first@host")
    assert not job_claim(job_id=lost.pk, worker="duplicate@host")  # the duplicate delivery does nothing
