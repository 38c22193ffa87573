"""Access to a datanet is checked when a job is created, and again when it is trained, resumed and
published: a permission withdrawn meanwhile stops the work that has not happened yet, visibly."""

from __future__ import annotations

import pytest

from datanets.models import AccessRequest, Datanet
from datanets.services import access_request_create, access_request_decide
from modelfactory.catalog.services import PublishRefused, model_publish_from_job
from modelfactory.finetuning.errors import JobRefused
from modelfactory.finetuning.models import FineTuneJob
from modelfactory.finetuning.services import job_create, job_resume, job_run
from modelfactory.finetuning.training.spec import preset
from tests.finetuning.jobs_support import register_tiny, sums_datanet, train_tiny_job
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared(use_tiny_base_model):
    """A permissioned datanet of its owner, and a trainer the owner let in."""
    owner, trainer = make_user("owner"), make_user("trainer")
    datanet, version = sums_datanet(owner)
    Datanet.objects.filter(pk=datanet.pk).update(visibility=Datanet.Visibility.PERMISSIONED)
    datanet.refresh_from_db()
    grant = access_request_create(datanet=datanet, user=trainer)
    access_request_decide(access_request=grant, owner=owner, approve=True)
    return owner, trainer, version, grant, register_tiny(use_tiny_base_model)


def revoke(owner, grant: AccessRequest) -> None:
    access_request_decide(access_request=grant, owner=owner, approve=False)


def spec() -> dict:
    return preset("quick", "tiny-base", context_length=128, max_steps=1, max_seq_length=64).to_json()


def test_a_queued_job_whose_access_was_withdrawn_fails_with_the_reason_instead_of_training(shared):
    owner, trainer, version, grant, base = shared
    job = job_create(owner=trainer, name="queued", base_model=base, versions=[version], spec=spec())
    revoke(owner, grant)

    job_run(job_id=job.pk, worker="w@host")

    job.refresh_from_db()
    assert job.status == FineTuneJob.Status.FAILED
    assert job.error == f"not trained: you may not train on {version.datanet.title}: ask its owner for access"
    assert not job.metrics.exists()


def test_a_stopped_job_cannot_be_resumed_once_access_is_withdrawn(shared):
    owner, trainer, version, grant, base = shared
    job = job_create(owner=trainer, name="stopped", base_model=base, versions=[version], spec=spec())
    FineTuneJob.objects.filter(pk=job.pk).update(status=FineTuneJob.Status.CANCELLED)
    revoke(owner, grant)

    with pytest.raises(JobRefused, match="ask its owner for access"):
        job_resume(job=FineTuneJob.objects.get(pk=job.pk), user=trainer)

    assert FineTuneJob.objects.get(pk=job.pk).status == FineTuneJob.Status.CANCELLED


def test_an_adapter_trained_before_access_was_withdrawn_cannot_be_published_after(
    client, use_tiny_base_model
):
    trainer = make_user("trainer")
    job = train_tiny_job(client, trainer, use_tiny_base_model, max_steps=1)
    version = job.datanet_versions.get()
    Datanet.objects.filter(pk=version.datanet_id).update(
        visibility=Datanet.Visibility.PERMISSIONED, owner=make_user("new_owner")
    )

    with pytest.raises(PublishRefused, match="cannot be published: you may not train on"):
        model_publish_from_job(job=job, user=trainer, api_name="sums", title="Sums")
