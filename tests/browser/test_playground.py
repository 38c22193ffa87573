"""The playground in Chromium: answers stream into the page, two models side by side, Stop keeps the text."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from modelfactory.playground.answer_markdown import render_markdown
from modelfactory.playground.models import Message
from modelfactory.serving import engine_runtime
from tests.playground.playground_support import private_model, publish_tiny_base, slow_talkative_engine
from tests.support.factories import make_user
from tests.support.funding import fund

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NORMALISED_HTML = (
    "(html) => { const box = document.createElement('div'); box.innerHTML = html; return box.innerHTML; }"
)
STREAMING_WITH_TEXT = """(index) => {
  const answer = document.querySelectorAll('[data-testid=answer]')[index];
  const text = answer && answer.querySelector('[data-role=text]').textContent;
  return answer && answer.dataset.status === 'streaming' && text;
}"""


@pytest.fixture
def chatter(page, live_server, use_tiny_base_model, monkeypatch):
    """A logged-in user on the playground, with a slow model so the stream can be watched."""
    publish_tiny_base(use_tiny_base_model)
    user = make_user("chatter")
    fund(user)  # every answer is paid for; the refusal has its own test (tests/billing)
    slow_talkative_engine(monkeypatch, seconds_per_step=0.03)
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Username").fill("chatter")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server.url + "/")
    yield user
    engine_runtime.shutdown()


def open_playground(page, live_server, *, max_tokens: int) -> None:
    page.goto(live_server.url + "/playground/")
    page.get_by_test_id("conversations-empty").wait_for()
    page.get_by_label("Temperature").fill("0")
    page.get_by_label("Max tokens").fill(str(max_tokens))


def test_a_chat_streams_its_answer_token_by_token_then_shows_its_attribution(page, live_server, chatter):
    open_playground(page, live_server, max_tokens=40)
    meter = page.get_by_test_id("context-meter")
    expect(meter).to_have_attribute("data-tokens", "0")  # nothing written yet
    page.get_by_label("System prompt").fill("Answer with a number.")
    page.get_by_label("Message").fill("What is 2 plus 3?")
    expect(meter).to_have_attribute("data-tokens", re.compile(r"^[1-9]\d*$"))  # follows the typing
    page.get_by_role("button", name="Send").click()

    page.wait_for_function(STREAMING_WITH_TEXT, arg=0)  # text is on the page while the model still writes
    partial = page.get_by_test_id("answer-text").inner_text()
    answer = page.get_by_test_id("answer")
    expect(answer.get_by_test_id("answer-status")).to_have_text("Done", timeout=20_000)
    assert len(page.get_by_test_id("answer-text").inner_text()) > len(partial)

    attribution = answer.get_by_test_id("attribution")
    attribution.locator("summary").click()
    expect(attribution).to_contain_text("tiny-base")
    expect(attribution).to_contain_text("not fine-tuned on community data")
    expect(page).to_have_url(re.compile(r"/playground/c/\d+/$"))
    expect(page.get_by_test_id("conversations")).to_contain_text("What is 2 plus 3?")

    expect(page.get_by_test_id("context-meter")).to_contain_text("/ 128 tokens of context")

    page.get_by_role("button", name="Copy as curl").click()
    snippet = page.get_by_test_id("snippet")
    expect(snippet).to_contain_text("/v1/chat/completions")
    expect(snippet).to_contain_text("Authorization: Bearer $MODELFACTORY_API_KEY")
    expect(snippet).to_contain_text('"max_tokens": 40')
    expect(snippet).to_contain_text('"content": "What is 2 plus 3?"')
    page.get_by_label("Message").fill("And 3 plus 4?")
    page.get_by_role("button", name="Copy as Python").click()
    expect(snippet).to_contain_text('os.environ["MODELFACTORY_API_KEY"]')
    answer_text = Message.objects.get(role="assistant").content
    for part in ('"role": "system"', "What is 2 plus 3?", '"role": "assistant"', "And 3 plus 4?"):
        expect(snippet).to_contain_text(part)  # the whole conversation, then the draft
    assert json.dumps(answer_text, ensure_ascii=False)[1:-1][:20] in snippet.inner_text()

    page.reload()  # the conversation is kept, its answer and receipt with it
    expect(page.get_by_test_id("answer-status")).to_have_text("Done")
    expect(page.get_by_test_id("answer").get_by_test_id("attribution")).to_contain_text("tiny-base")


def test_side_by_side_streams_two_models_in_parallel_columns(page, live_server, chatter):
    private_model(owner=chatter, api_name="my-copy")
    open_playground(page, live_server, max_tokens=40)
    page.get_by_test_id("model").select_option("tiny-base")
    page.get_by_test_id("compare-model").select_option("my-copy")
    page.get_by_label("Message").fill("Say something.")
    page.get_by_role("button", name="Send").click()

    page.wait_for_function(f"() => ({STREAMING_WITH_TEXT})(0) && ({STREAMING_WITH_TEXT})(1)")

    columns = page.locator(".pg-answers.side-by-side [data-testid=answer]")
    expect(columns).to_have_count(2)
    for index, model in enumerate(["tiny-base", "my-copy"]):
        column = columns.nth(index)
        expect(column.get_by_test_id("answer-status")).to_have_text("Done", timeout=20_000)
        expect(column.locator("[data-role=model]")).to_have_text(model)
        assert column.get_by_test_id("answer-text").inner_text()
        expect(column.get_by_test_id("attribution")).to_contain_text(model)


def test_stop_ends_the_answer_early_and_keeps_the_partial_text(page, live_server, chatter):
    open_playground(page, live_server, max_tokens=2000)
    page.get_by_label("Message").fill("Tell me a long story.")
    page.get_by_role("button", name="Send").click()
    page.wait_for_function(STREAMING_WITH_TEXT, arg=0)

    page.get_by_role("button", name="Stop").click()

    expect(page.get_by_test_id("answer-status")).to_have_text("Stopped")
    kept = page.get_by_test_id("answer-text").inner_text()
    assert kept
    answer = Message.objects.get(role="assistant")
    assert answer.status == "stopped"
    shown = page.get_by_test_id("answer-text").evaluate("element => element.innerHTML")
    assert shown == page.evaluate(
        NORMALISED_HTML, render_markdown(answer.content)
    )  # the kept text, as Markdown
    assert answer.receipt.tokens_out < 100  # the context holds ~100: it did not run to the end
    expect(page.get_by_role("button", name="Send")).to_be_enabled()
    page.reload()
    expect(page.get_by_test_id("answer-text")).to_have_text(kept)
    expect(page.get_by_test_id("answer-status")).to_have_text("Stopped")
