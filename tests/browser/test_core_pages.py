"""The home and status pages, as a person sees them in Chromium: rendered, plotted, no errors."""

from __future__ import annotations

import pytest

from datanets.demo_seeding import seed_demo_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_home_page_lists_the_demo_datanets_and_draws_the_chart(page, live_server, use_tiny_base_model):
    seed_demo_data()

    page.goto(live_server.url + "/")

    cards = page.get_by_test_id("datanet-card")
    assert cards.count() >= 4
    page.wait_for_selector("canvas[data-chart='datanet-bars'][data-drawn='1']", timeout=10_000)
    assert "approved rows" in page.inner_text(".stats")


def test_home_page_without_data_shows_how_to_load_the_demo(page, live_server):
    page.goto(live_server.url + "/")

    assert "No datanets yet" in page.inner_text("main")


def test_status_page_shows_green_and_red_badges_and_refreshes_itself(page, live_server, use_tiny_base_model):
    page.goto(live_server.url + "/status/")

    page.get_by_test_id("check-database").locator(".badge-ok").wait_for()
    assert page.get_by_test_id("check-workers").locator(".badge-bad").count() == 1
    with page.expect_response(
        lambda response: "/status/" in response.url and response.request.headers.get("hx-request") == "true",
        timeout=10_000,
    ):
        pass
    assert page.get_by_test_id("overall-status").is_visible()


def test_demo_user_can_log_in_and_out(page, live_server, use_tiny_base_model):
    seed_demo_data()
    page.goto(live_server.url + "/accounts/login/")

    page.get_by_label("Username").fill("demo")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Log in").click()

    page.wait_for_url(live_server.url + "/")
    assert "Demo User" in page.inner_text("header")
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("link", name="Log in").wait_for()
