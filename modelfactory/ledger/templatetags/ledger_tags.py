"""Template filters for amounts in OPEN base units."""

from __future__ import annotations

from django import template

from modelfactory.ledger.open_amounts import open_display

register = template.Library()


@register.filter
def open_amount(value) -> str:
    """Base units → "1.2345 OPEN"-style text (display only; up to 6 decimals)."""
    return open_display(value)
