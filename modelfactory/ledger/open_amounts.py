"""OPEN amounts: what people read and type (OPEN, with decimals) against what is stored (base units).

The token has 18 decimals. Fees, receipts, splits and payouts are integers of base units (10⁻¹⁸ OPEN),
so sums are exact and equal to the chain's; OPEN with decimals exists only at the edges, on pages and
in forms, and is converted here, in one place, in both directions.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

DECIMALS = 18
BASE_UNITS_PER_OPEN = 10**DECIMALS


class NotAnOpenAmount(ValueError):
    """Text or a number that is not an amount of OPEN (negative, or finer than 10⁻¹⁸)."""


def open_units(amount: int | Decimal) -> Decimal:
    """Base units as OPEN, for display only (sums are always done in base units)."""
    return (Decimal(int(amount)) / BASE_UNITS_PER_OPEN).normalize() if amount else Decimal(0)


def open_display(amount: int | Decimal | None) -> str:
    """Base units as "1,234.5678"-style OPEN for reading (rounded to 6 decimals: display only)."""
    if amount in (None, ""):
        return "0"
    return f"{open_units(int(amount)):,.6f}".rstrip("0").rstrip(".")


def open_text(amount: int | Decimal) -> str:
    """Base units as OPEN in plain digits (``"1000"``, ``"0.001"``, never ``"1E+3"``): what a form shows
    in a field, exact to the last of the 18 decimals."""
    return format(open_units(amount), "f")


def base_units(amount: Decimal | str | int) -> int:
    """OPEN (``"0.001"``, ``Decimal("1.5")``) as whole base units; never rounds, since a rounded fee
    would differ from the one its owner typed."""
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation:
        raise NotAnOpenAmount(f"{amount!r} is not a number of OPEN") from None
    if not value.is_finite() or value < 0:
        raise NotAnOpenAmount(f"{amount!r} is not a number of OPEN 0 or more")
    units = value * BASE_UNITS_PER_OPEN
    if units != units.to_integral_value():
        raise NotAnOpenAmount(f"{amount!r} has more than {DECIMALS} decimals, the token's smallest unit")
    return int(units)
