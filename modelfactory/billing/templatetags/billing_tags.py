"""Template helpers for prepaid balances and prices, so any page can show them without its view knowing.

`{% balance_panel user %}` renders `billing/_balance.html` (balance, what is held, the journal) for the
wallet page or anywhere else; `{{ model|model_price }}` is a model's price in one short line.
"""

from __future__ import annotations

from django import template

from modelfactory.billing.pricing import model_is_free
from modelfactory.billing.selectors import balance_of, journal_of
from modelfactory.catalog.models import PublishedModel
from modelfactory.ledger.open_amounts import open_display
from modelfactory.ledger.receipt_services import fee_rates

register = template.Library()

JOURNAL_ROWS = 50


@register.inclusion_tag("billing/_balance.html")
def balance_panel(user, limit: int = JOURNAL_ROWS) -> dict:
    """The user's balance and their latest journal entries, newest first."""
    return {"balance": balance_of(user), "entries": list(journal_of(user, limit=limit)), "limit": limit}


@register.filter
def model_price(published: PublishedModel) -> str:
    """ "0.001 / 0.002 OPEN per 1k tokens in / out + 0.0001 per answer", or "free"."""
    if model_is_free(published):
        return "free"
    rates = fee_rates(published)
    price = f"{open_display(rates.rate_in)} / {open_display(rates.rate_out)} OPEN per 1k tokens in / out"
    return price + (f" + {open_display(rates.platform_fee)} per answer" if rates.platform_fee else "")
