"""The demo's fine-tunes are ordinary jobs: queued once by seed_demo, published as soon as they succeed."""

from __future__ import annotations

import pytest

from datanets.demo_seeding import DEMO_FINE_TUNES, DEMO_USERNAME, demo_fine_tunes_ensure, seed_demo_data
from modelfactory.catalog.models import PublishedModel
from modelfactory.finetuning.models import FineTuneJob
from modelfactory.finetuning.services import job_create, job_publish_on_success, job_run
from tests.finetuning.jobs_support import FAST, register_tiny, sums_datanet
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db


def test_seeding_queues_each_demo_fine_tune_once_as_an_ordinary_job_of_the_demo_user(use_tiny_base_model):
    seed_demo_data()

    first = demo_fine_tunes_ensure()
    again = demo_fine_tunes_ensure()

    jobs = FineTuneJob.objects.filter(publish_as__in=[demo.api_name for demo in DEMO_FINE_TUNES])
    assert jobs.count() == len(DEMO_FINE_TUNES) == len(first)
    assert all(
        line.endswith(f"queued as job {job.pk}") for line, job in zip(first, jobs.order_by("pk"), strict=True)
    )
    assert all(job.owner.username == DEMO_USERNAME and job.preset == "quick" for job in jobs)
    assert all(job.status == FineTuneJob.Status.QUEUED for job in jobs)
    assert [line.split(": ")[1] for line in again] == [
        f"job {job.pk} is queued" for job in jobs.order_by("pk")
    ]
    for demo in DEMO_FINE_TUNES:
        job = jobs.get(publish_as=demo.api_name)
        assert [v.datanet.slug for v in job.datanet_versions.all()] == [demo.datanet_slug]


def test_a_job_asked_to_publish_goes_live_under_its_name_when_it_succeeds(tiny_base_model):
    owner = make_user()
    _, version = sums_datanet(owner)
    base = register_tiny(tiny_base_model)
    spec = {**FAST, "base_model": base.source, "max_steps": 2}
    job = job_create(
        owner=owner,
        name="Sums assistant",
        base_model=base,
        versions=[version],
        spec=spec,
        publish_as="sums-bot",
    )

    job_run(job_id=job.pk, worker="w@host")

    job.refresh_from_db()
    assert job.status == FineTuneJob.Status.SUCCEEDED
    published = PublishedModel.objects.get(api_name="sums-bot")
    assert published.job_id == job.pk
    assert published.owner_id == owner.pk
    # Asking again (the repair path run at every start) finds it rather than publishing twice.
    assert job_publish_on_success(job=job) == published
    assert PublishedModel.objects.filter(api_name="sums-bot").count() == 1


def test_a_job_without_a_publish_name_is_left_for_its_owner_to_publish(tiny_base_model):
    owner = make_user()
    _, version = sums_datanet(owner)
    base = register_tiny(tiny_base_model)
    job = job_create(
        owner=owner,
        name="Sums",
        base_model=base,
        versions=[version],
        spec={**FAST, "base_model": base.source, "max_steps": 1},
    )

    job_run(job_id=job.pk, worker="w@host")

    assert FineTuneJob.objects.get(pk=job.pk).status == FineTuneJob.Status.SUCCEEDED
    assert not PublishedModel.objects.filter(job=job).exists()
