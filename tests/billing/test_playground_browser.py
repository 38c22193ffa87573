"""In Chromium: a user whose balance cannot pay for an answer is told so, with a link to deposit."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from modelfactory.billing.services import withdrawal_reserve
from modelfactory.playground.models import Conversation
from tests.support.browser import log_in
from tests.support.factories import make_user
from tests.support.funding import OPEN, fund

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def ask(page, live_server) -> None:
    page.goto(live_server.url + "/playground/")
    page.get_by_label("Max tokens").fill("8")
    page.get_by_label("Message").fill("How bright is the lamp?")
    page.get_by_role("button", name="Send").click()


def test_a_user_without_funds_is_told_why_and_where_to_deposit(page, live_server, served):
    make_user("broke")
    log_in(page, live_server, "broke")
    page.console_log.expect("402")  # the refusal is an HTTP 402 the page turns into the message

    ask(page, live_server)

    error = page.locator("#chat-error")
    expect(error).to_contain_text("Your balance cannot cover this answer")
    expect(error).to_contain_text("0 OPEN available")
    expect(error.get_by_test_id("deposit-link")).to_have_attribute("href", "/wallet/")
    assert not Conversation.objects.exists()


def test_an_answer_refused_when_it_starts_shows_the_way_to_deposit_under_it(page, live_server, served):
    """The balance covered the answer when it was sent but was spent before it started."""
    user = make_user("spender")
    fund(user, OPEN)
    log_in(page, live_server, "spender")
    page.goto(live_server.url + "/playground/")
    page.route(  # hold the stream back until the balance is gone
        "**/playground/stream/**",
        lambda route: (withdrawal_reserve(user=user, amount=OPEN), route.continue_()),
    )

    page.get_by_label("Max tokens").fill("8")
    page.get_by_label("Message").fill("How bright is the lamp?")
    page.get_by_role("button", name="Send").click()

    answer = page.get_by_test_id("answer")
    expect(answer.get_by_test_id("answer-status")).to_have_text("Failed")
    expect(answer.locator("[data-role=error]")).to_contain_text("cannot cover this answer")
    expect(answer.get_by_test_id("deposit-link")).to_have_attribute("href", "/wallet/")
