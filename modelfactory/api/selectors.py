"""Reads of the API: a user's keys. (Receipts are read as everywhere else: `ledger.selectors.receipt_get`.)"""

from __future__ import annotations

from django.db.models import QuerySet

from modelfactory.api.errors import ApiKeyNotFound
from modelfactory.api.models import ApiKey


def api_keys_of(user) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(user=user)


def api_key_of(user, key_id: int) -> ApiKey:
    """One of the user's own keys; another user's key is as absent as a missing one (`ApiKeyNotFound`)."""
    key = ApiKey.objects.filter(user=user, pk=key_id).first()
    if key is None:
        raise ApiKeyNotFound("no such key among yours")
    return key
