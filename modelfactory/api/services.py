"""Writes of the API: keys (create, revoke, use), rate-limit admission, and per-completion accounting."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from modelfactory.accounts.errors import LimitReached
from modelfactory.accounts.models import User
from modelfactory.accounts.throttle_services import user_request_admit
from modelfactory.api.errors import ApiKeyNotFound, InvalidApiKey, RateLimited
from modelfactory.api.models import DEFAULT_RATE_LIMIT_PER_MINUTE, ApiKey, ApiRequest
from modelfactory.attribution.services import answer_receipt_record
from modelfactory.catalog.models import PublishedModel
from modelfactory.ledger.models import InferenceReceipt
from modelfactory.sliding_window import retry_after_s

KEY_PREFIX = "mf-"
PREFIX_SHOWN = 10
WINDOW = timedelta(minutes=1)


def secret_hash(secret: str) -> str:
    """SHA-256, not a slow password hash: keys are 256 random bits, so there is nothing to brute-force."""
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def api_key_create(
    *, user, name: str, rate_limit_per_minute: int = DEFAULT_RATE_LIMIT_PER_MINUTE
) -> tuple[ApiKey, str]:
    """A new key and its secret; the secret is returned this once and never stored.

    An account holds at most MODELFACTORY_API_KEYS_PER_USER active keys (`LimitReached`): each key has
    its own rate limit, and the account's own limit is what stops many keys adding up, but a bounded list
    keeps a leaked session from minting keys faster than their owner can revoke them.
    """
    User.objects.select_for_update().filter(pk=user.pk).first()  # two tabs creating at once count exactly
    limit = settings.MODELFACTORY_API_KEYS_PER_USER
    if ApiKey.objects.filter(user=user, revoked__isnull=True).count() >= limit:
        raise LimitReached(
            f"You have {limit} active API keys, the most one account may hold: revoke one you no longer "
            "use, then create the new one."
        )
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        user=user,
        name=name.strip(),
        prefix=secret[:PREFIX_SHOWN],
        secret_hash=secret_hash(secret),
        rate_limit_per_minute=rate_limit_per_minute,
    )
    key.full_clean()
    key.save()
    return key, secret


@transaction.atomic
def api_key_revoke(*, key: ApiKey, user) -> ApiKey:
    """Revoke at once and for good; the row stays so receipts and the list still name it."""
    if key.user_id != user.pk:
        raise ApiKeyNotFound("no such key among yours")
    if key.revoked is None:
        key.revoked = timezone.now()
        key.save(update_fields=["revoked"])
    return key


@dataclass(frozen=True)
class RateWindow:
    """Where a key stands in its one-minute window after this request: OpenAI's x-ratelimit-* headers."""

    limit: int
    remaining: int
    reset_s: float  # until the window is whole again


def api_request_admit(*, secret: str | None) -> ApiKey:
    """Authenticate a request's bearer key and count it in the key's and its account's one-minute windows.

    The key comes back with `rate_window` (a `RateWindow`) for the response's headers.

    Locking the key row serialises admissions of one key across all web processes, so the count is
    exact; rows older than the window are pruned as we go, so the table stays one minute deep.
    """
    if not secret:
        raise InvalidApiKey(
            "no API key given: send 'Authorization: Bearer <key>'; create a key at /account/api-keys/"
        )
    with transaction.atomic():
        key = (
            ApiKey.objects.select_for_update()
            .select_related("user")
            .filter(secret_hash=secret_hash(secret))
            .first()
        )
        if key is None:
            raise InvalidApiKey("incorrect API key; check it or create a new one at /account/api-keys/")
        if key.revoked is not None:
            raise InvalidApiKey("this API key was revoked; create a new one at /account/api-keys/")
        if not key.user.is_active:
            raise InvalidApiKey("this API key's account is deactivated; its keys no longer work")
        now = timezone.now()
        ApiRequest.objects.filter(key=key, at__lte=now - WINDOW).delete()
        recent = list(ApiRequest.objects.filter(key=key).order_by("at").values_list("at", flat=True))
        retry = retry_after_s(recent=recent, limit=key.rate_limit_per_minute, window=WINDOW, now=now)
        if retry is not None:
            raise RateLimited(
                f"rate limit of {key.rate_limit_per_minute} requests per minute reached for this key; "
                f"retry in {retry} s",
                retry_after_s=retry,
            )
        user_request_admit(user=key.user)  # `Throttled` past the account's limit, all keys together
        ApiRequest.objects.create(key=key, at=now)
        key.rate_window = RateWindow(
            limit=key.rate_limit_per_minute,
            remaining=max(0, key.rate_limit_per_minute - len(recent) - 1),
            reset_s=((recent[0] if recent else now) + WINDOW - now).total_seconds(),
        )
        ApiKey.objects.filter(pk=key.pk).update(last_used=now)
        key.last_used = now
    return key


@transaction.atomic
def completion_account(
    *,
    key: ApiKey,
    published: PublishedModel,
    tokens_in: int,
    tokens_out: int,
    receipt_id=None,
    prompt: str | None = None,
    answers: list[dict] | None = None,
    request_id: str = "",
) -> InferenceReceipt:
    """The receipt of one answer, queued for attribution, and the key's usage, in one transaction: all or
    nothing.

    `receipt_id` lets a stream announce its receipt in the response headers before the answer (and so
    its token count) exists.
    """
    receipt = answer_receipt_record(
        published=published,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        user=key.user,
        api_key_id=key.pk,
        receipt_id=receipt_id,
        prompt=prompt,
        answers=answers,
        request_id=request_id,
    )
    ApiKey.objects.filter(pk=key.pk).update(
        requests=F("requests") + 1,
        tokens_in=F("tokens_in") + tokens_in,
        tokens_out=F("tokens_out") + tokens_out,
    )
    return receipt
