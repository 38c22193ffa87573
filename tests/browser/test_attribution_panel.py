"""In Chromium: an adapter's answer shows its attribution panel filling in once the job has run."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from modelfactory.attribution.services import receipt_attribute
from modelfactory.ledger.models import InferenceReceipt
from modelfactory.serving import engine_runtime
from tests.attribution.attribution_support import build_indexes, published_facts_adapter
from tests.support.browser import log_in
from tests.support.factories import make_user
from tests.support.funding import fund

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def facts_model(client, use_tiny_base_model):
    published, version, _ = published_facts_adapter(client, use_tiny_base_model)
    build_indexes(published, version)
    yield published
    engine_runtime.shutdown()


def test_the_panel_under_an_adapters_answer_fills_in_when_attribution_completes(
    page, live_server, facts_model
):
    fund(make_user("reader"))
    log_in(page, live_server, "reader")
    page.goto(live_server.url + "/playground/")
    page.get_by_test_id("model").select_option(facts_model.api_name)
    page.get_by_label("Temperature").fill("0")
    page.get_by_label("Max tokens").fill("24")
    page.get_by_label("Message").fill("What is the code of station 3?")
    page.get_by_role("button", name="Send").click()
    answer = page.get_by_test_id("answer")
    expect(answer.get_by_test_id("answer-status")).to_have_text("Done", timeout=30_000)
    panel = answer.get_by_test_id("attribution")
    panel.locator("summary").click()
    expect(panel.get_by_test_id("attribution-body")).to_have_attribute("data-status", "pending")

    receipt_attribute(receipt_id=InferenceReceipt.objects.get().pk)  # what the attribution worker does

    expect(panel.get_by_test_id("attribution-body")).to_have_attribute(
        "data-status", "complete", timeout=10_000
    )
    expect(panel.get_by_test_id("attribution-status")).to_contain_text("gradient")
    expect(panel.get_by_test_id("method-weights")).to_contain_text("Gradient influence")
    assert panel.evaluate("element => element.open")  # the refresh kept the panel open
