"""A fine-tuned adapter whose rows carry one distinct fact per contributor, published with its indexes."""

from __future__ import annotations

import random

from datanets.models import Row
from datanets.services import rows_add, version_publish
from modelfactory.attribution.index_services import sketch_build, span_index_build
from modelfactory.attribution.models import AdapterSketch, SpanIndex
from modelfactory.catalog.services import model_publish_from_job
from modelfactory.finetuning.models import FineTuneJob
from modelfactory.finetuning.services import job_run
from tests.finetuning.jobs_support import register_tiny, walk_wizard
from tests.support.factories import make_datanet, make_user

CODES = ["amber falcon", "cobalt river", "violet harbor", "silver meadow"]


def fact(code: str, index: int) -> str:
    return f"The vault code of station {index} is {code} seven."


def facts_datanet(owner, *, contributors: int = 4, rows_each: int = 6, permissioned: bool = False):
    """Each contributor's rows state their own code; answers are long enough for span matching."""
    datanet = make_datanet(
        owner=owner, slug=f"facts-{random.randint(0, 10**9)}", title="Facts", permissioned=permissioned
    )
    people = [make_user() for _ in range(contributors)]
    contributions = []
    for index in range(rows_each):
        for person, code in zip(people, CODES, strict=False):
            contributions.append(
                (
                    person,
                    {
                        "messages": [
                            {"role": "user", "content": f"What is the code of station {index}? ({code})"},
                            {"role": "assistant", "content": fact(code, index)},
                        ]
                    },
                )
            )
    rows_add(datanet=datanet, contributions=contributions, status=Row.Status.APPROVED, source="test")
    return datanet, version_publish(datanet=datanet), people


def published_facts_adapter(
    client, tiny_base_model, *, max_steps: int = 6, permissioned: bool = False, **overrides
):
    """Train and publish an adapter on a facts datanet (`overrides`: method fields, e.g. method="dora")."""
    owner = make_user()
    client.force_login(owner)
    _datanet, version, people = facts_datanet(owner, permissioned=permissioned)
    walk_wizard(
        client,
        base_model=register_tiny(tiny_base_model),
        version=version,
        max_steps=max_steps,
        save_every=3,
        **overrides,
    )
    job = FineTuneJob.objects.filter(owner=owner).latest("created")
    job_run(job_id=job.pk, worker="w@host")
    job = FineTuneJob.objects.get(pk=job.pk)
    assert job.status == FineTuneJob.Status.SUCCEEDED, job.error
    published = model_publish_from_job(job=job, user=owner, api_name=f"facts-{job.pk}", title="Facts")
    return published, version, people


def build_indexes(published, version) -> None:
    sketch_build(sketch_id=AdapterSketch.objects.get(published_model=published).pk)
    span_index_build(version_id=version.pk)
    assert AdapterSketch.objects.get(published_model=published).status == "ready"
    assert SpanIndex.objects.get(version=version).status == "ready"
