"""The receipt page, the playground panel and the datanet page show what attribution found."""

from __future__ import annotations

import pytest

from modelfactory.attribution.services import receipt_attribute
from tests.attribution.attribution_support import CODES, build_indexes, fact, published_facts_adapter
from tests.attribution.test_receipt_attribution import answer_receipt

pytestmark = pytest.mark.django_db


@pytest.fixture
def attributed(client, use_tiny_base_model):
    published, version, people = published_facts_adapter(client, use_tiny_base_model)
    build_indexes(published, version)
    receipt = answer_receipt(published, fact(CODES[2], 1))
    return published, version, people, receipt


def test_a_pending_receipt_page_polls_its_evidence_until_the_job_has_run_then_reloads_whole(
    client, attributed
):
    receipt = attributed[3]

    page = client.get(f"/receipts/{receipt.receipt_id}/").content.decode()
    assert 'data-status="pending"' in page
    assert f"/receipts/{receipt.receipt_id}/evidence/" in page
    assert "HX-Refresh" not in client.get(f"/receipts/{receipt.receipt_id}/evidence/").headers

    receipt_attribute(receipt_id=receipt.pk)
    response = client.get(f"/receipts/{receipt.receipt_id}/evidence/")
    assert response.headers["HX-Refresh"] == "true"  # contributors and the fee split changed too
    part = response.content.decode()
    assert 'data-status="complete"' in part
    assert "hx-trigger" not in part
    assert "Span matching" in part
    assert "Gradient influence" in part
    assert CODES[2] in part  # the matched span, from a datanet this viewer may read


def test_the_playground_panel_refreshes_its_body_and_shows_the_rows(client, attributed):
    published, _, _, receipt = attributed
    receipt.user = published.owner
    receipt.save(update_fields=["user"])
    client.force_login(published.owner)

    pending = client.get(f"/playground/receipts/{receipt.receipt_id}/attribution/").content.decode()
    assert "?part=body" in pending

    receipt_attribute(receipt_id=receipt.pk)
    body = client.get(f"/playground/receipts/{receipt.receipt_id}/attribution/?part=body").content.decode()
    assert "<details" not in body
    assert 'data-testid="attribution-rows"' in body
    assert "every 1s" not in body


def test_the_datanet_page_counts_attributed_answers_and_what_its_contributors_earned(client, attributed):
    _, version, _, receipt = attributed
    empty = client.get(f"/datanets/{version.datanet.slug}/").content.decode()
    assert 'data-testid="attribution-empty"' in empty

    receipt_attribute(receipt_id=receipt.pk)
    page = client.get(f"/datanets/{version.datanet.slug}/").content.decode()

    assert 'data-testid="datanet-attribution"' in page
    assert "answers crediting this datanet" in page
    assert "chart-earnings" in page
    assert "Most attributed rows" in page


def test_a_shared_receipt_hides_the_text_of_rows_from_a_permissioned_datanet(client, use_tiny_base_model):
    published, version, _ = published_facts_adapter(client, use_tiny_base_model, permissioned=True)
    build_indexes(published, version)
    receipt = receipt_attribute(receipt_id=answer_receipt(published, fact(CODES[0], 2)).pk)
    client.logout()

    page = client.get(f"/receipts/{receipt.receipt_id}/").content.decode()

    assert "Span matching" in page
    assert CODES[0] not in page


def test_the_model_page_says_how_far_its_gradient_sketches_are(client, use_tiny_base_model):
    published, version, _ = published_facts_adapter(client, use_tiny_base_model)
    queued = client.get(f"/models/{published.api_name}/").content.decode()
    assert "gradient sketches queued" in queued

    build_indexes(published, version)
    ready = client.get(f"/models/{published.api_name}/").content.decode()

    assert "gradient sketches ready" in ready
    assert "B/row" in ready
