"""A web process that dies mid-answer leaves the answer "streaming"; a beat sweep fails it with the reason,
so the page stops waiting, while an answer that could still be running is left alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from modelfactory.celery import app
from modelfactory.playground.models import Conversation, Message
from modelfactory.playground.tasks import fail_abandoned_answers
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db


def answer(conversation: Conversation, status: str, age_s: int) -> Message:
    message = Message.objects.create(
        conversation=conversation, role=Message.Role.ASSISTANT, model_name="m", status=status
    )
    Message.objects.filter(pk=message.pk).update(created=timezone.now() - timedelta(seconds=age_s))
    return message


def test_answers_left_streaming_or_pending_past_any_answers_lifetime_fail_with_the_reason(settings):
    settings.MODELFACTORY_ANSWER_MAX_S = 60
    conversation = Conversation.objects.create(user=make_user("ada"), model_names=["m"])
    dead = answer(conversation, Message.Status.STREAMING, age_s=60 + 301)
    never_opened = answer(conversation, Message.Status.PENDING, age_s=60 + 301)
    running = answer(conversation, Message.Status.STREAMING, age_s=30)
    done = answer(conversation, Message.Status.DONE, age_s=10_000)

    assert fail_abandoned_answers() == 2

    states = {m.pk: (m.status, m.error) for m in Message.objects.all()}
    assert states[dead.pk][0] == states[never_opened.pk][0] == Message.Status.FAILED
    assert "went away" in states[dead.pk][1]
    assert "nothing was charged" in states[dead.pk][1]
    assert states[running.pk] == (Message.Status.STREAMING, "")
    assert states[done.pk][0] == Message.Status.DONE


def test_the_sweep_is_on_the_beat_schedule():
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}

    assert "modelfactory.playground.tasks.fail_abandoned_answers" in scheduled
