"""What can go wrong with accounts, said so that the person can act on it."""

from __future__ import annotations


class SignUpThrottled(Exception):
    """Too many sign-up forms came from one address in the last hour; the view answers 429."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class DevelopmentAccountRefused(Exception):
    """anvil's development accounts are not handed out as wallets in production: their keys are public."""
