"""A fine-tuned adapter published on an allow-list: refused until granted, then answered with lineage."""

from __future__ import annotations

import httpx
import openai
import pytest

from modelfactory.catalog.services import model_grant, model_publish_from_job
from modelfactory.finetuning.models import FineTuneJob
from modelfactory.finetuning.services import job_run
from tests.finetuning.jobs_support import register_tiny, sums_datanet, walk_wizard
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def private_adapter(client, use_tiny_base_model):
    owner = make_user("publisher")
    client.force_login(owner)
    _, version = sums_datanet(owner)
    walk_wizard(
        client, base_model=register_tiny(use_tiny_base_model), version=version, max_steps=2, save_every=2
    )
    job = FineTuneJob.objects.get()
    job_run(job_id=job.pk, worker="w@host")
    job.refresh_from_db()
    return model_publish_from_job(
        job=job, user=owner, api_name="private-sums", title="Private sums", access="allow_list"
    )


def test_an_allow_listed_adapter_answers_once_granted_with_its_contributors_on_the_receipt(
    private_adapter, openai_client, caller, live_server
):
    ask = {"model": "private-sums", "messages": [{"role": "user", "content": "What is 2 plus 3?"}]}
    with pytest.raises(openai.PermissionDeniedError):
        openai_client.chat.completions.create(**ask, max_tokens=4)
    assert "private-sums" not in [model.id for model in openai_client.models.list()]

    model_grant(published=private_adapter, owner=private_adapter.owner, user=caller)
    completion = openai_client.chat.completions.create(**ask, max_tokens=4, temperature=0)
    receipt = httpx.get(
        f"{live_server.url}/v1/attribution/{completion.attribution_receipt}",
        headers={"Authorization": f"Bearer {openai_client.api_key}", "Connection": "close"},
    ).json()

    assert completion.model == "private-sums"
    assert receipt["adapters"][0]["name"] == "private-sums"
    assert receipt["attribution"]["contributors"]
    assert sum(receipt["attribution"]["contributors"].values()) == pytest.approx(1.0)
    assert "private-sums" in [model.id for model in openai_client.models.list()]
