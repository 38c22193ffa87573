"""Per-person and per-address limits: one sliding-window throttle, and concurrent-answer slots.

Each limit exists because one account could otherwise take what everyone shares: sign-ups and failed
logins from one address (scripts guessing accounts and passwords), a person's requests across all their
API keys and the playground (more keys must not mean more throughput), and their answers in flight at
once (the engine's batch and queue are shared by everyone). Every refusal says when to retry.

Counts live in the database (`ThrottleEvent`, `AnswerInFlight`) so that every web process sees them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from modelfactory.accounts.errors import Throttled
from modelfactory.accounts.models import AnswerInFlight, ThrottleEvent, User
from modelfactory.sliding_window import retry_after_s


@dataclass(frozen=True)
class Throttle:
    """At most `limit` counted attempts per `window`, for each subject of `scope`."""

    scope: str
    limit: int
    window: timedelta

    def retry_after_s(self, subject: str, *, count: int = 1) -> int | None:
        """None when `count` more attempts of `subject` fit now; otherwise whole seconds until they do."""
        now = timezone.now()
        recent = list(
            ThrottleEvent.objects.filter(scope=self.scope, subject=subject, at__gt=now - self.window)
            .order_by("at")
            .values_list("at", flat=True)
        )
        # `count` more fit when one more fits under a limit `count - 1` lower
        return retry_after_s(recent=recent, limit=self.limit - count + 1, window=self.window, now=now)

    def record(self, subject: str, *, count: int = 1) -> None:
        """Count `count` attempts, pruning this scope's expired rows so the table stays one window deep."""
        now = timezone.now()
        ThrottleEvent.objects.filter(scope=self.scope, at__lte=now - self.window).delete()
        ThrottleEvent.objects.bulk_create(
            ThrottleEvent(scope=self.scope, subject=subject, at=now) for _ in range(count)
        )

    @transaction.atomic
    def admit(self, subject: str, *, refusal: str, count: int = 1) -> None:
        """Count `count` attempts, or raise `Throttled` (`refusal` + when to retry) counting none of them.

        A refused attempt is not counted, so the window frees on schedule. Callers that need an exact
        count under concurrency lock a row of their subject first (`user_request_admit` locks the user).
        """
        retry = self.retry_after_s(subject, count=count)
        if retry is not None:
            raise Throttled(f"{refusal} Try again in {wait_phrase(retry)}.", retry_after_s=retry)
        self.record(subject, count=count)


def wait_phrase(seconds: int) -> str:
    """'12 seconds' or '3 minutes' (rounded up): what a person reads in a refusal."""
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minutes"


def sign_up_throttle() -> Throttle:
    return Throttle("sign-up", settings.MODELFACTORY_SIGNUP_ATTEMPTS_PER_HOUR, timedelta(hours=1))


def login_failure_throttles() -> tuple[Throttle, Throttle]:
    """Per username, and per address (five times as many: a classroom behind one NAT mistypes too)."""
    limit, window = settings.MODELFACTORY_LOGIN_FAILURES_PER_15_MIN, timedelta(minutes=15)
    return Throttle("login-failure-user", limit, window), Throttle("login-failure-address", 5 * limit, window)


def user_request_throttle() -> Throttle:
    return Throttle("user-request", settings.MODELFACTORY_USER_REQUESTS_PER_MINUTE, timedelta(minutes=1))


# --- failed log-ins ------------------------------------------------------------------------------------
def login_attempt_admit(*, username: str, address: str) -> None:
    """Let a log-in be tried now, or raise `Throttled` until the username and the address may again."""
    by_user, by_address = login_failure_throttles()
    waits = [by_user.retry_after_s(username.strip().lower()), by_address.retry_after_s(address)]
    retry = max((wait for wait in waits if wait is not None), default=None)
    if retry is not None:
        raise Throttled(
            f"Too many failed log-ins for this account or from your network. Try again in "
            f"{wait_phrase(retry)}, or reset your password.",
            retry_after_s=retry,
        )


def login_failures_record(*, username: str, address: str) -> None:
    by_user, by_address = login_failure_throttles()
    by_user.record(username.strip().lower())
    by_address.record(address)


# --- a person's requests, across API keys and the playground -----------------------------------------
@transaction.atomic
def user_request_admit(*, user: User, count: int = 1) -> None:
    """Count `count` requests of `user` (all their keys and the playground together), or refuse them all.

    The user's row is locked, so two web processes admitting the same person at once count exactly.
    """
    User.objects.select_for_update().filter(pk=user.pk).first()
    throttle = user_request_throttle()
    throttle.admit(
        str(user.pk),
        count=count,
        refusal=f"Your account reached its limit of {throttle.limit} requests per minute "
        "(all your API keys and the playground together).",
    )


# --- a person's answers in flight --------------------------------------------------------------------
@transaction.atomic
def answer_slot_take(*, user: User) -> int:
    """Take one of `user`'s concurrent-answer slots (its id, for `answer_slot_release`) or raise `Throttled`.

    A slot whose process died stops counting when it expires (the longest an answer may run, plus a
    margin), so it never blocks the person for good.
    """
    User.objects.select_for_update().filter(pk=user.pk).first()
    now = timezone.now()
    AnswerInFlight.objects.filter(expires__lte=now).delete()
    limit = settings.MODELFACTORY_USER_CONCURRENT_ANSWERS
    running = AnswerInFlight.objects.filter(user=user).count()
    if running >= limit:
        raise Throttled(
            f"You already have {running} answers being generated, the most one account may have at "
            f"once ({limit}). Wait for one to finish or stop it, then try again.",
            retry_after_s=1,
            code="too_many_concurrent_answers",
        )
    lifetime = timedelta(seconds=settings.MODELFACTORY_ANSWER_MAX_S + 60)
    return AnswerInFlight.objects.create(user=user, started=now, expires=now + lifetime).pk


def answer_slot_release(slot: int | None) -> None:
    """Give a slot back; releasing twice, or `None` (no slot was taken), does nothing."""
    if slot is not None:
        AnswerInFlight.objects.filter(pk=slot).delete()
