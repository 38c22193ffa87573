"""However an API answer ends, its hold is closed once and right: these drive `Answer` directly, so the
order of events that a real server leaves to chance is fixed here.

The waiting thread or the stream sees the cancellation `end` caused (the client went away) before `end`
looks at the answer: that is still a client who read tokens, not an engine failure, and pays for them.
"""

from __future__ import annotations

import contextlib
import threading
import time

import pytest

from modelfactory.api.answers import Answer, answer_start
from modelfactory.api.errors import ApiError
from modelfactory.api.parameters import text_ask
from modelfactory.api.services import api_key_create
from modelfactory.billing.models import Reservation
from modelfactory.billing.selectors import balance_of
from modelfactory.serving import engine_runtime
from tests.playground.playground_support import slow_talkative_engine
from tests.support.factories import make_user
from tests.support.funding import OPEN, fund

pytestmark = pytest.mark.django_db


@pytest.fixture
def user(served):
    user = make_user()
    fund(user, OPEN)
    return user


def started(user, **fields) -> Answer:
    key, _ = api_key_create(user=user, name="endings")
    body = {"model": "tiny-base", "prompt": "Tell me about lamps", "max_tokens": 100, **fields}
    return answer_start(key=key, ask=text_ask(body))


def test_a_whole_answer_whose_waiting_thread_saw_the_hang_up_first_is_charged_its_tokens(user, monkeypatch):
    slow_talkative_engine(monkeypatch, seconds_per_step=0.02)
    answer = started(user)
    waiting = threading.Thread(target=_wait, args=(answer,))
    waiting.start()
    time.sleep(0.3)

    answer.cancel_unfinished()  # what `end` does first when the client hangs up
    waiting.join(10)
    answer.end()

    reservation = Reservation.objects.get(user=user)
    assert reservation.status == "settled"
    assert 1 <= reservation.receipt.tokens_out < 100
    assert balance_of(user).available == OPEN - reservation.charged


def _wait(answer: Answer) -> None:
    with contextlib.suppress(ApiError):
        answer.wait()


def test_a_stream_that_read_the_cancellation_before_end_is_charged_its_tokens(user, monkeypatch):
    slow_talkative_engine(monkeypatch, seconds_per_step=0.02)
    answer = started(user, stream=True)
    chunks = answer.token_chunks()
    for _ in range(3):
        next(chunks)

    answer.cancel_unfinished()
    rest = list(chunks)  # the stream reaches the cancelled completion before `end` runs
    answer.end()

    assert "error" in rest[-1]  # nobody reads it: the client is gone
    reservation = Reservation.objects.get(user=user)
    assert reservation.status == "settled"
    assert 2 <= reservation.receipt.tokens_out < 100


def test_an_answer_the_engine_fails_midway_is_released_whole(user, monkeypatch):
    slow_talkative_engine(monkeypatch, seconds_per_step=0.02)
    runner = engine_runtime.engine().runner
    execute, steps = runner.execute, []

    def failing_after_five(*args, **kwargs):
        steps.append(1)
        if len(steps) > 5:
            raise RuntimeError("out of memory")
        return execute(*args, **kwargs)

    monkeypatch.setattr(runner, "execute", failing_after_five)
    answer = started(user, stream=True)

    chunks = list(answer.token_chunks())
    answer.end()

    assert "the model could not be served" in chunks[-1]
    assert Reservation.objects.get(user=user).status == "released"
    assert balance_of(user).available == OPEN


def test_ending_twice_closes_the_hold_once(user):
    answer = started(user, max_tokens=3)
    answer.wait()
    answer.account()

    answer.end()
    answer.end()

    reservation = Reservation.objects.get(user=user)
    assert reservation.status == "settled"
    assert balance_of(user).available == OPEN - reservation.charged
