"""What an answer may cost at most, and a model's price as people and API clients read it.

The price of an answer is the ledger's own (`ledger.receipt_services.fee_rates` and `inference_fee`), the
same functions that write the receipt's fee, so the amount held before generation is never below the
fee charged after it: the fee only grows with the tokens, and the answer cannot produce more than
`max_tokens` per choice.
"""

from __future__ import annotations

from contracts.fee_split import inference_fee
from modelfactory.catalog.models import PublishedModel
from modelfactory.ledger.open_amounts import open_text
from modelfactory.ledger.receipt_services import fee_rates


def answer_price_max(*, published: PublishedModel, tokens_in: int, tokens_out_max: int) -> int:
    """The most an answer may cost, in base units: the prompt's tokens and every token it may generate
    (all choices together) at the model's rates, plus the per-request platform fee."""
    return inference_fee(tokens_in=tokens_in, tokens_out=tokens_out_max, rates=fee_rates(published))


def model_is_free(published: PublishedModel) -> bool:
    """All rates and the platform fee are zero: its answers hold nothing and pay nobody."""
    rates = fee_rates(published)
    return rates.rate_in == 0 and rates.rate_out == 0 and rates.platform_fee == 0


def model_pricing(published: PublishedModel) -> dict[str, str]:
    """The model's price in OPEN as exact decimal strings (JSON numbers would round 18 decimals)."""
    rates = fee_rates(published)
    return {
        "currency": "OPEN",
        "input_per_1k_tokens": open_text(rates.rate_in),
        "output_per_1k_tokens": open_text(rates.rate_out),
        "per_request": open_text(rates.platform_fee),
    }
