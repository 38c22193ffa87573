"""Datanet pages in Chromium: browse and search, the stats page with its charts, rows, review, access."""

from __future__ import annotations

from pathlib import Path

import pytest

from datanets.models import Row
from datanets.services import version_publish
from tests.support.browser import log_in
from tests.support.factories import make_datanet, make_rows, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_browse_search_narrows_the_cards_as_you_type(page, live_server):
    make_datanet(slug="tide-tables", title="Tide tables")
    make_datanet(slug="bread-baking", title="Bread baking")

    page.goto(live_server.url + "/datanets/")
    assert page.get_by_test_id("datanet-card").count() == 2
    page.get_by_label("Search datanets").fill("bread")

    page.wait_for_function("() => document.querySelectorAll('[data-testid=datanet-card]').length === 1")
    assert "Bread baking" in page.inner_text("#datanet-cards")
    page.get_by_label("Search datanets").fill("zzz-nothing")
    page.get_by_text("No datanet matches").wait_for()


def test_datanet_page_draws_its_charts_and_pages_through_rows(page, live_server):
    datanet = make_datanet(slug="many-rows", title="Many rows")
    make_rows(datanet, 60, prefix="paged")
    version_publish(datanet=datanet)

    page.goto(live_server.url + "/datanets/many-rows/")

    page.wait_for_selector("canvas[data-chart='histogram'][data-drawn='1']")
    page.wait_for_selector("canvas[data-chart='timeline'][data-drawn='1']")
    assert page.get_by_test_id("row").count() == 25
    page.get_by_text("Next →").click()
    page.get_by_text("Page 2 of 3").wait_for()
    page.get_by_label("Search rows").fill("question 7 of")
    page.wait_for_function("() => document.querySelectorAll('[data-testid=row]').length === 1")


def test_owner_approves_a_pending_row_from_the_review_queue(page, live_server):
    owner = make_user("keeper")
    datanet = make_datanet(owner=owner, slug="curated")
    make_rows(datanet, 2, status=Row.Status.PENDING, prefix="waiting")
    log_in(page, live_server, "keeper")

    page.goto(live_server.url + "/datanets/curated/review/")
    page.get_by_test_id("pending-row").first.get_by_role("checkbox").check()
    page.get_by_role("button", name="Approve selected").click()

    page.get_by_text("1 row(s) approved.").wait_for()
    assert page.get_by_test_id("pending-row").count() == 1


def test_a_stranger_asks_for_access_to_a_permissioned_datanet(page, live_server):
    make_datanet(owner=make_user("holder"), slug="closed", title="Closed data", permissioned=True)
    make_user("asker")
    log_in(page, live_server, "asker")
    page.console_log.expect("403")

    response = page.goto(live_server.url + "/datanets/closed/")
    assert response.status == 403
    page.get_by_label("Why do you need it?").fill("research")
    page.get_by_role("button", name="Request access").click()

    page.get_by_text("Your request is waiting for the owner.").wait_for()


def test_contributor_walks_the_upload_wizard_and_downloads_the_rejected_rows(page, live_server, tmp_path):
    make_datanet(owner=make_user("wizard_owner"), slug="wizardry")
    make_user("uploader")
    data = tmp_path / "rows.jsonl"
    data.write_text('{"prompt": "What is a wand?", "completion": "A stick with ideas."}\n{"prompt": ""}\n')
    log_in(page, live_server, "uploader")

    page.goto(live_server.url + "/datanets/wizardry/upload/")
    page.get_by_label("File").set_input_files(str(data))
    page.get_by_role("button", name="Upload and preview").click()
    page.get_by_test_id("detected-format").wait_for()
    assert "What is a wand?" in page.inner_text("[data-testid=preview-rows]")
    assert "line 2" in page.inner_text("[data-testid=preview-rejections]")
    page.get_by_label("Import the valid rows").check()
    page.get_by_role("button", name="Import").click()

    page.get_by_text("1 row received, waiting for the owner's review; 1 rejected.").wait_for()
    page.console_log.expect("rejected.jsonl")  # a download ends its navigation as "aborted"
    with page.expect_download() as download:
        page.get_by_test_id("rejections-link").click()
    assert '"line": 2' in Path(download.value.path()).read_text()
