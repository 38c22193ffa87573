"""What can go wrong with accounts, said so that the person can act on it."""

from __future__ import annotations


class Throttled(Exception):
    """A per-person or per-address limit was reached (`throttles`); views answer 429 with Retry-After."""

    def __init__(self, message: str, *, retry_after_s: int, code: str = "rate_limit_exceeded") -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.code = code  # the API's error code: which limit it was


class DevelopmentAccountRefused(Exception):
    """anvil's development accounts are not handed out as wallets in production: their keys are public."""


class LimitReached(Exception):
    """A person holds as many of something as one account may (API keys, jobs in progress); they must
    finish or remove one first. Pages answer 409."""
