"""Publishing a trained adapter from its job page, and the catalog pages, in Chromium."""

from __future__ import annotations

import pytest

from modelfactory.finetuning.models import FineTuneJob
from modelfactory.finetuning.services import job_run
from tests.finetuning.jobs_support import register_tiny, sums_datanet

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_developer_publishes_a_job_and_finds_the_model_in_the_catalog(
    page, live_server, use_tiny_base_model
):
    from django.test import Client

    from tests.finetuning.jobs_support import walk_wizard
    from tests.support.factories import make_user

    owner = make_user("catalog_dev")
    _, version = sums_datanet(owner)
    client = Client()
    client.force_login(owner)
    walk_wizard(
        client, base_model=register_tiny(use_tiny_base_model), version=version, max_steps=2, save_every=2
    )
    job = FineTuneJob.objects.get()
    job_run(job_id=job.pk, worker="w@host")
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Username").fill("catalog_dev")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server.url + "/")

    page.goto(f"{live_server.url}/finetune/jobs/{job.pk}/")
    page.get_by_role("link", name="Publish as a model").click()
    page.get_by_label("API name").fill("napkin-math")
    page.get_by_role("button", name="Publish").click()

    page.get_by_test_id("lineage").wait_for()
    assert page.get_by_test_id("api-name").inner_text() == "napkin-math"
    page.get_by_role("link", name="Models", exact=True).click()
    assert page.get_by_test_id("model-card").count() == 2  # the base model and the new adapter
    page.get_by_role("link", name="Merge adapters").click()
    page.get_by_role("link", name="Models", exact=True).click()
    page.get_by_role("link", name="Import a PEFT adapter").click()
    page.get_by_label("File").wait_for()
