"""A fine-tuned adapter published on an allow-list: refused until granted, then answered with lineage."""

from __future__ import annotations

import httpx
import openai
import pytest

from modelfactory.catalog.services import model_grant, model_publish_from_job
from tests.finetuning.jobs_support import train_tiny_job
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def private_adapter(client, use_tiny_base_model):
    owner = make_user("publisher")
    job = train_tiny_job(client, owner, use_tiny_base_model, max_steps=2)
    job.refresh_from_db()
    return model_publish_from_job(
        job=job, user=owner, api_name="private-sums", title="Private sums", access="allow_list"
    )


def test_an_allow_listed_adapter_answers_once_granted_with_its_contributors_on_the_receipt(
    private_adapter, openai_client, caller, live_server
):
    ask = {"model": "private-sums", "messages": [{"role": "user", "content": "What is 2 plus 3?"}]}
    with pytest.raises(openai.NotFoundError):  # to someone not granted, it does not exist
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


def test_an_api_answer_is_queued_for_attribution_and_the_endpoint_shows_its_evidence(
    private_adapter, openai_client, caller, live_server
):
    from modelfactory.attribution.index_services import sketch_build, span_index_build
    from modelfactory.attribution.models import AdapterSketch, AttributionQuery
    from modelfactory.attribution.services import receipt_attribute

    model_grant(published=private_adapter, owner=private_adapter.owner, user=caller)
    sketch_build(sketch_id=AdapterSketch.objects.get(published_model=private_adapter).pk)
    for version in private_adapter.job.datanet_versions.all():
        span_index_build(version_id=version.pk)
    ask = {"model": "private-sums", "messages": [{"role": "user", "content": "What is 2 plus 3?"}]}
    completion = openai_client.chat.completions.create(**ask, max_tokens=4, temperature=0)
    query = AttributionQuery.objects.get(receipt__receipt_id=completion.attribution_receipt)
    assert query.answers[0]["text"] == completion.choices[0].message.content
    assert "What is 2 plus 3?" in query.prompt

    receipt_attribute(receipt_id=query.receipt_id)
    receipt = httpx.get(
        f"{live_server.url}/v1/attribution/{completion.attribution_receipt}",
        headers={"Authorization": f"Bearer {openai_client.api_key}", "Connection": "close"},
    ).json()

    assert receipt["attribution_status"] == "complete"
    assert "gradient" in receipt["attribution"]["methods"]
    assert receipt["attribution"]["rows"]
    assert sum(receipt["split"]["by_account"].values()) == int(receipt["fee"])
