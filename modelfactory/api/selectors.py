"""Reads of the API: a user's keys, and the receipts a key may see."""

from __future__ import annotations

import uuid

from django.db.models import Q, QuerySet

from modelfactory.api.errors import NotFound
from modelfactory.api.models import ApiKey
from modelfactory.ledger.models import InferenceReceipt


def api_keys_of(user) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(user=user)


def api_key_of(user, key_id: int) -> ApiKey:
    """One of the user's own keys; another user's key is as absent as a missing one."""
    return ApiKey.objects.get(user=user, pk=key_id)


def receipt_for(key: ApiKey, receipt_id: str) -> InferenceReceipt:
    """A receipt the key's owner produced (with any of their keys, or on the site); 404 for anyone else."""
    try:
        wanted = uuid.UUID(str(receipt_id))
    except ValueError:
        raise NotFound(f"no receipt {receipt_id!r}: receipt ids are UUIDs", param="id") from None
    own_keys = ApiKey.objects.filter(user_id=key.user_id).values("pk")
    receipt = (
        InferenceReceipt.objects.filter(receipt_id=wanted)
        .filter(Q(user_id=key.user_id) | Q(api_key_id__in=own_keys))
        .first()
    )
    if receipt is None:
        raise NotFound(f"no receipt {receipt_id} among yours", param="id", code="receipt_not_found")
    return receipt
