"""The job list and the comparison of jobs fit a phone: a wide table scrolls inside its own box, and the
page itself never scrolls sideways."""

from __future__ import annotations

import pytest

from modelfactory.finetuning.models import FineTuneJob
from tests.finetuning.jobs_support import register_tiny
from tests.support.browser import log_in
from tests.support.factories import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def test_the_job_list_and_the_comparison_fit_a_phone(page, live_server, use_tiny_base_model):
    owner = make_user("ada")
    base = register_tiny(use_tiny_base_model)
    spec = {"rank": 16, "learning_rate": 0.0002, "max_seq_length": 1024, "target_modules": "attention_mlp"}
    jobs = [
        FineTuneJob.objects.create(
            owner=owner,
            name=f"a rather long job name for a phone screen number {n}",
            base_model=base,
            spec=spec,
            output_dir="/nonexistent",
            status=FineTuneJob.Status.SUCCEEDED,
        )
        for n in range(3)
    ]
    log_in(page, live_server, "ada")
    page.set_viewport_size(PHONE)

    for path in ("/finetune/", "/finetune/compare/?" + "&".join(f"job={job.pk}" for job in jobs)):
        page.goto(live_server.url + path)
        page.locator("table.data").first.wait_for()

        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], (
            f"{path} scrolls sideways"
        )
