"""Publishing a trained adapter from its job page, and the catalog pages, in Chromium."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_developer_publishes_a_job_and_finds_the_model_in_the_catalog(
    page, live_server, use_tiny_base_model
):
    from django.test import Client

    from tests.finetuning.jobs_support import train_tiny_job
    from tests.support.factories import make_user

    job = train_tiny_job(Client(), make_user("catalog_dev"), use_tiny_base_model)
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
