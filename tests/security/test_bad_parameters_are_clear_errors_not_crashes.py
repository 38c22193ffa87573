"""A malformed query parameter is the caller's mistake: a 400 that names it, never a 500."""

from __future__ import annotations

import pytest

from modelfactory.finetuning.models import FineTuneJob
from tests.finetuning.jobs_support import register_tiny
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("after", ["abc", "1.5", "", "--1"])
def test_a_job_metrics_poll_with_a_step_that_is_not_a_number_is_400_naming_it(
    client, use_tiny_base_model, after
):
    ada = make_user("ada")
    job = FineTuneJob.objects.create(
        owner=ada,
        name="job",
        base_model=register_tiny(use_tiny_base_model),
        spec={},
        output_dir="/nonexistent",
    )
    client.force_login(ada)

    refused = client.get(f"/finetune/jobs/{job.pk}/metrics.json", {"after": after})
    polled = client.get(f"/finetune/jobs/{job.pk}/metrics.json", {"after": "-1"})

    assert refused.status_code == 400
    assert refused.json()["error"].startswith("after:")
    assert polled.status_code == 200
