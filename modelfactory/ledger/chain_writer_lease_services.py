"""One process at a time sends the operator's transactions: a lease row, taken by a conditional UPDATE.

The beat schedules settlement and registration every few seconds, and a second beat, a manual
`settle_epochs`, or a slow run overlapping the next tick would otherwise send as the same account at
once. A conditional UPDATE works the same on PostgreSQL and SQLite and holds no transaction open while
transactions are mined; a lease whose process died frees itself when it expires.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from modelfactory.ledger.models import ChainWriterLease

OPERATOR = "operator"


class ChainWriterBusy(Exception):
    """Another process holds the lease; this run does nothing and the next tick tries again."""


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lease_renew(name: str, holder: str) -> bool:
    """Push the lease's expiry forward (call between long steps); False when it was lost meanwhile."""
    expires = timezone.now() + timedelta(seconds=settings.MODELFACTORY_CHAIN_WRITER_LEASE_S)
    return bool(ChainWriterLease.objects.filter(name=name, holder=holder).update(expires=expires))


@contextlib.contextmanager
def chain_writer_lease(name: str = OPERATOR) -> Iterator[str]:
    """Hold the lease for the block (yields the holder id, for `lease_renew`), or raise `ChainWriterBusy`."""
    ChainWriterLease.objects.get_or_create(name=name)
    holder, now = _holder(), timezone.now()
    taken = ChainWriterLease.objects.filter(Q(expires__isnull=True) | Q(expires__lte=now), name=name).update(
        holder=holder, expires=now + timedelta(seconds=settings.MODELFACTORY_CHAIN_WRITER_LEASE_S)
    )
    if not taken:
        current = ChainWriterLease.objects.get(name=name)
        raise ChainWriterBusy(
            f"{current.holder} is sending the {name}'s transactions (until {current.expires:%H:%M:%S} at "
            "the latest); this run waits for the next tick"
        )
    try:
        yield holder
    finally:
        ChainWriterLease.objects.filter(name=name, holder=holder).update(holder="", expires=None)
