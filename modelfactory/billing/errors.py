"""What can go wrong with a balance, said so that the person (or the calling service) knows what to do.

Views translate these at the edge: the API as OpenAI's `insufficient_quota` (429), the playground as a
message with the way to deposit.
"""

from __future__ import annotations

from modelfactory.ledger.open_amounts import open_display

DEPOSIT_PATH = "/wallet/"


class BillingError(Exception):
    """Base of the billing app's domain errors."""


class InsufficientBalance(BillingError):
    """The user's available balance cannot cover what an answer (or a withdrawal) may cost."""

    def __init__(self, *, available: int, reserved: int, needed: int, what: str = "this answer") -> None:
        self.available, self.reserved, self.needed = available, reserved, needed
        held = f" ({open_display(reserved)} OPEN more is held for answers in progress)" if reserved else ""
        super().__init__(
            f"Your balance cannot cover {what}: it may cost up to {open_display(needed)} OPEN and you have "
            f"{open_display(available)} OPEN available{held}. Deposit OPEN on your wallet page "
            f"({DEPOSIT_PATH}) to continue."
        )
        self.deposit_path = DEPOSIT_PATH


class ReservationClosed(BillingError):
    """The reservation was already charged or released: it closes exactly once."""


class ChargeRefused(BillingError):
    """A charge that cannot be taken from its reservation (more than was held, or not its receipt)."""


class InvalidAmount(BillingError, ValueError):
    """An amount that is not a positive whole number of base units, or a malformed chain reference."""
