"""What the playground says before and around a chat: which model it starts with, how much of the context
the next prompt takes, a prompt too long refused as a validation error, the conversation to copy as code,
and the people an answer credits, by name."""

from __future__ import annotations

import json
import re

import pytest

from modelfactory.accounts.models import User
from modelfactory.catalog.models import PublishedModel
from modelfactory.catalog.services import model_publish_from_job
from modelfactory.ledger.receipt_services import receipt_record
from modelfactory.playground.models import Conversation
from modelfactory.serving import engine_runtime
from tests.finetuning.jobs_support import train_tiny_job
from tests.playground.playground_support import private_model, publish_tiny_base, streamed
from tests.support.factories import make_user
from tests.support.funding import fund

pytestmark = pytest.mark.django_db

TINY_CONTEXT = 128
LONG_PROMPT = "Please add these numbers for me: " + " plus ".join(str(n) for n in range(1, 12))


@pytest.fixture
def chat_model(use_tiny_base_model):
    yield publish_tiny_base(use_tiny_base_model)
    engine_runtime.shutdown()


@pytest.fixture
def alice(client):
    user = make_user("alice")
    fund(user)  # every answer is paid for; refusals have their own tests (tests/billing)
    client.force_login(user)
    return user


def send(client, message: str = "What is 2 plus 3?", **fields):
    data = {"model": "tiny-base", "temperature": "0", "top_p": "1", "max_tokens": "8", "message": message}
    return client.post("/playground/send/", {**data, **fields})


def chosen_model(page: str) -> str:
    return re.search(r'<select name="model"[^>]*>.*?<option value="([^"]+)" selected', page, re.S).group(1)


def meter(client, **query) -> tuple[int, int, str]:
    html = client.get("/playground/context/", {"model": "tiny-base", **query}).content.decode()
    match = re.search(r'data-tokens="(\d+)" data-context-length="(\d+)"', html)
    return int(match.group(1)), int(match.group(2)), html


def test_a_new_chat_starts_with_the_default_base_model_not_the_first_in_the_list(client, alice, chat_model):
    private_model(owner=alice, api_name="aardvark")  # sorts before tiny-base in the chooser

    assert chosen_model(client.get("/playground/").content.decode()) == "tiny-base"


def test_a_new_chat_starts_with_the_model_last_chatted_with(client, alice, chat_model):
    private_model(owner=alice, api_name="mine")
    send(client, model="mine")

    assert chosen_model(client.get("/playground/").content.decode()) == "mine"


def test_a_model_published_after_the_last_chat_is_the_one_a_new_chat_starts_with(client, alice, chat_model):
    send(client)
    PublishedModel.objects.create(
        api_name="fresh-adapter",
        title="Fresh adapter",
        kind=PublishedModel.Kind.ADAPTER,
        base_model=chat_model.base_model,
        owner=alice,
    )

    assert chosen_model(client.get("/playground/").content.decode()) == "fresh-adapter"


def test_the_context_meter_counts_the_chat_the_model_would_see_against_its_context(client, alice, chat_model):
    nothing, context, _ = meter(client)
    with_system, _, _ = meter(client, system_prompt="Answer briefly.")
    with_draft, _, html = meter(client, system_prompt="Answer briefly.", message="What is 2 plus 3?")

    assert context == TINY_CONTEXT
    assert nothing == 0
    assert 0 < with_system < with_draft < TINY_CONTEXT
    assert f"{with_draft}</span> / {TINY_CONTEXT} tokens of context" in html
    assert "too long" not in html


def test_the_meter_says_when_old_turns_are_left_out_and_when_a_draft_cannot_fit(client, alice, chat_model):
    conversation_id = ""
    for _ in range(3):
        payload = send(client, LONG_PROMPT, conversation=conversation_id).json()
        conversation_id = payload["conversation_id"]
        streamed(client.get(payload["answers"][0]["stream_url"]))

    _, _, crowded = meter(client, conversation=conversation_id, message=LONG_PROMPT)
    tokens, _, too_long = meter(client, message=LONG_PROMPT * 4)

    assert re.search(r"the \d+ oldest messages left out to fit", crowded)
    assert tokens > TINY_CONTEXT - 8
    assert "too long: this model takes at most 119 before its answer" in too_long


def test_a_prompt_too_long_to_answer_is_refused_as_a_validation_error_and_nothing_is_kept(
    client, alice, chat_model
):
    tokens, _, _ = meter(client, message=LONG_PROMPT * 4)

    response = send(client, LONG_PROMPT * 4)

    assert response.status_code == 400
    assert response.json()["error"] == (
        f"Your message and system prompt are {tokens} tokens; this model takes at most 119 before its answer "
        f"(its context is {TINY_CONTEXT} tokens). Shorten one of them: older turns are already left out."
    )
    assert not Conversation.objects.exists()


def test_the_page_holds_the_whole_conversation_per_model_for_copy_as_code(client, alice, chat_model):
    private_model(owner=alice, api_name="mine")
    first = send(client, "First?", compare_model="mine", system_prompt="Be brief.").json()
    for answer in first["answers"]:
        streamed(client.get(answer["stream_url"]))
    second = send(client, "Second?", conversation=first["conversation_id"]).json()
    streamed(client.get(second["answers"][0]["stream_url"]))

    page = client.get(first["conversation_url"]).content.decode()

    thread = json.loads(re.search(r'id="conversation-thread"[^>]*>(.*?)</script>', page, re.S).group(1))
    answers = {a.model_name: a.content for a in Conversation.objects.get().messages.filter(role="assistant")}
    assert [turn["prompt"] for turn in thread] == ["First?", "Second?"]
    assert set(thread[0]["answers"]) == {"tiny-base", "mine"}
    assert thread[1]["answers"]["tiny-base"] == answers["tiny-base"]


def test_the_attribution_panel_names_the_people_it_credits(client, use_tiny_base_model):
    owner = make_user("sums_owner")
    # Eight people beside the owner: more than the held-out split (7 rows, chosen by row id) can hide,
    # few enough that all are among the panel's top ten.
    job = train_tiny_job(client, owner, use_tiny_base_model, others_every=6)
    published = model_publish_from_job(job=job, user=owner, api_name="sums", title="Sums")
    owner.display_name = "Ada the Adder"
    owner.save()
    receipt = receipt_record(published=published, tokens_in=10, tokens_out=5, user=owner)
    engine_runtime.shutdown()

    panel = client.get(f"/playground/receipts/{receipt.receipt_id}/attribution/").content.decode()

    others = User.objects.filter(wallet_address__in=receipt.attribution["contributors"]).exclude(pk=owner.pk)
    assert re.search(r'data-testid="contributor-name">Ada the Adder<', panel)
    assert f'title="{owner.wallet_address}"' in panel  # the wallet stays one hover away
    assert others
    for person in others:  # without a display name, a person is shown by username
        assert f'data-testid="contributor-name">{person.username}<' in panel
    assert '<code class="wallet"' not in panel


def test_a_credited_wallet_that_belongs_to_nobody_here_is_shown_as_the_wallet(chat_model):
    from modelfactory.playground.selectors import attribution_panel

    receipt = receipt_record(published=chat_model, tokens_in=10, tokens_out=5)
    stranger = "0x" + "ab" * 20
    receipt.attribution["contributors"] = {stranger: 1.0}

    assert attribution_panel(receipt)["contributors"] == [
        {"wallet": stranger, "name": "", "weight_percent": 100.0}
    ]
