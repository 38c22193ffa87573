"""The fine-tuning wizard and job page in Chromium."""

from __future__ import annotations

import re

import pytest

from modelfactory.finetuning.models import FineTuneJob
from modelfactory.finetuning.services import job_run
from tests.finetuning.jobs_support import register_tiny, sums_datanet
from tests.support.factories import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_person_walks_the_wizard_launches_a_job_and_sees_its_curves(page, live_server, use_tiny_base_model):
    owner = make_user("wizard_user")
    _, version = sums_datanet(owner)
    register_tiny(use_tiny_base_model)
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Username").fill("wizard_user")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server.url + "/")

    page.get_by_role("link", name="Fine-tune").click()
    page.get_by_text("No fine-tuning job yet").wait_for()
    page.get_by_role("link", name="New fine-tune").click()
    page.get_by_test_id("base-model").first.click()
    page.get_by_role("button", name="Next: data").click()
    page.get_by_label("Sums").select_option(str(version.pk))
    page.get_by_role("button", name="Next: method").click()
    page.get_by_role("radio", name=re.compile("^Quick")).check()
    page.get_by_text("Advanced settings").click()
    # Choosing the Quick preset filled the advanced panel with its values.
    assert page.get_by_role("spinbutton", name="Rank", exact=True).input_value() == "16"
    page.get_by_label("Max steps").fill("6")
    page.get_by_label("Max sequence length").fill("64")
    page.get_by_test_id("qlora-reason").wait_for()
    page.get_by_role("button", name="Next: review").click()
    page.get_by_test_id("warnings").wait_for()
    page.get_by_label("Job name").fill("My first adapter")
    page.get_by_role("button", name="Launch fine-tuning").click()

    page.get_by_test_id("job-status").filter(has_text="Queued").wait_for()
    job = FineTuneJob.objects.get(name="My first adapter")
    assert job.spec["max_steps"] == 6

    job_run(job_id=job.pk, worker="browser-test@host")  # what the worker would do
    page.reload()
    page.get_by_test_id("job-status").filter(has_text="Succeeded").wait_for()
    page.get_by_test_id("evaluation").wait_for()
    drawn = page.evaluate(
        "() => Chart.getChart(document.querySelector('[data-live-chart=loss]')).data.datasets[0].data.length"
    )
    assert drawn == 6
