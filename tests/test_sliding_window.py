"""The one sliding-window rule behind the API keys' limit and the sign-up throttle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from modelfactory.sliding_window import retry_after_s

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def test_a_request_fits_while_the_window_holds_fewer_than_the_limit():
    recent = [NOW - timedelta(seconds=50), NOW - timedelta(seconds=10)]

    assert retry_after_s(recent=recent, limit=3, window=MINUTE, now=NOW) is None


def test_a_full_window_says_when_the_oldest_counted_request_leaves_it():
    recent = [NOW - timedelta(seconds=10), NOW - timedelta(seconds=50), NOW - timedelta(seconds=30)]

    assert retry_after_s(recent=recent, limit=3, window=MINUTE, now=NOW) == 11  # 10 s, rounded up


def test_a_limit_of_zero_refuses_for_a_whole_window():
    assert retry_after_s(recent=[], limit=0, window=MINUTE, now=NOW) == 60
