"""Publishing a fine-tuned adapter makes it servable at once by this process's engine."""

from __future__ import annotations

import pytest
import torch

from inference.sampling import SamplingParams
from modelfactory.catalog.models import PublishedModel
from modelfactory.catalog.selectors import ModelAccessDenied, ModelNotFound, model_for, models_usable_by
from modelfactory.catalog.services import PublishRefused, model_grant, model_publish_from_job, model_unpublish
from modelfactory.finetuning.models import FineTuneJob
from modelfactory.serving import engine_runtime
from tests.finetuning.jobs_support import register_tiny, train_tiny_job
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def trained_job(client, use_tiny_base_model):
    owner = make_user("publisher")
    job = train_tiny_job(client, owner, use_tiny_base_model, max_steps=4)
    yield FineTuneJob.objects.get(pk=job.pk)
    engine_runtime.shutdown()


def answer(published: PublishedModel):
    request = engine_runtime.request_for(
        published,
        prompt=engine_runtime.chat_prompt([{"role": "user", "content": "What is 2 plus 3?"}]),
        sampling=SamplingParams(max_tokens=6),
    )
    request.keep_logits = True
    return engine_runtime.engine().submit(request).result(timeout=60)


def test_a_published_adapter_answers_through_the_engine_without_a_restart(trained_job):
    published = model_publish_from_job(job=trained_job, user=trained_job.owner, api_name="sums", title="Sums")

    assert published.engine_name == "sums@1"
    adapted, base = answer(published), answer(PublishedModel.objects.get(api_name="tiny-base"))
    assert adapted.text
    assert not torch.allclose(adapted.logits[0], base.logits[0], atol=1e-4)


def test_republishing_bumps_the_version_so_no_stale_weights_are_served(trained_job):
    model_publish_from_job(job=trained_job, user=trained_job.owner, api_name="sums", title="Sums")
    again = model_publish_from_job(job=trained_job, user=trained_job.owner, api_name="sums", title="Sums v2")

    answer(again)
    assert again.version == 2
    assert "sums@2" in engine_runtime.engine().adapters.registered()


def test_an_unpublished_model_is_no_longer_served(trained_job):
    published = model_publish_from_job(job=trained_job, user=trained_job.owner, api_name="sums", title="Sums")

    model_unpublish(published=published, user=trained_job.owner)

    with pytest.raises(ModelNotFound):
        model_for(trained_job.owner, "sums")


def test_an_allow_listed_model_is_usable_only_by_its_owner_and_granted_users(trained_job):
    published = model_publish_from_job(
        job=trained_job, user=trained_job.owner, api_name="private-sums", title="Private", access="allow_list"
    )
    friend, stranger = make_user("friend"), make_user("stranger")
    model_grant(published=published, owner=trained_job.owner, user=friend)

    assert model_for(friend, "private-sums") == published
    assert published in models_usable_by(trained_job.owner)
    with pytest.raises(ModelAccessDenied):
        model_for(stranger, "private-sums")
    assert published not in models_usable_by(None)


def test_only_the_job_owner_publishes_and_names_are_not_stolen(trained_job):
    with pytest.raises(PublishRefused):
        model_publish_from_job(job=trained_job, user=make_user(), api_name="mine", title="x")
    with pytest.raises(PublishRefused, match="taken"):
        model_publish_from_job(job=trained_job, user=trained_job.owner, api_name="tiny-base", title="x")


def test_random_adapters_for_load_tests_are_published_and_served(use_tiny_base_model):
    from django.core.management import call_command

    register_tiny(use_tiny_base_model)
    make_user("demo")

    call_command("create_random_adapters", count=3)

    adapters = PublishedModel.objects.filter(api_name__startswith="random-")
    assert adapters.count() == 3
    try:
        outputs = {answer(adapter).logits[0].sum().item() for adapter in adapters}
        assert len(outputs) == 3  # random weights: each adapter changes the output differently
    finally:
        engine_runtime.shutdown()
