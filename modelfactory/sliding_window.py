"""The sliding-window rate limit, decided here once for everything that counts requests.

API keys (requests per minute) and sign-ups (attempts per hour from one address) both keep their
timestamps as database rows, so every web process sees the same count; this module only answers
whether one more fits, and when it will if not.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta


def retry_after_s(*, recent: Sequence[datetime], limit: int, window: timedelta, now: datetime) -> int | None:
    """None when one more request fits in the window; otherwise whole seconds until it does (at least 1).

    `recent` holds the admitted requests still inside the window. The next one fits when the oldest of
    the last `limit` leaves the window, so the wait is rounded up: retrying after it always succeeds.
    """
    if len(recent) < limit:
        return None
    if limit <= 0:
        return max(1, int(window.total_seconds()))
    frees_at = sorted(recent)[len(recent) - limit] + window
    return max(1, int((frees_at - now).total_seconds()) + 1)
