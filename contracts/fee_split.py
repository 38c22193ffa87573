"""What one inference costs, and who gets which part of it, in whole OPEN base units.

Pure functions, no chain and no database: the settlement job calls them per receipt and sums the
results per account into the epoch's PayoutTree.

Fee: fee = floor((tokens_in × rate_in + tokens_out × rate_out) / 1000) + platform_fee, with the rates in
base units per 1000 tokens. The token part is rounded down once, over the sum, so a request never pays
more than its exact price and loses less than one base unit (10⁻¹⁸ OPEN).

Split: the fee goes to five roles by shares in basis points summing to 10 000 (100 %), and the
contributors' part to the datanet contributors by their weights (attribution weights, or until those
exist each contributor's number of training rows). The developer's part goes to one developer, or, for a
merge of several adapters, to each adapter's developer by its merge weight (`developer_weights`), so that
wrapping other people's adapters in a composite earns the wrapper nothing of theirs.

Accounts: a party is named by a key. A hex address is checksummed (one spelling per wallet); any other
non-empty key is an account held off chain (the platform keys a person who has no proven wallet yet as
"person:<id>" and pays them once they have one), passed through unchanged. An empty key is refused here,
so a missing wallet can never reach the chain as an address.

Remainder rule (largest remainder, Hamilton's method), used at both levels: every party first gets
floor(amount × share / total_shares); the few base units left over (fewer than the number of parties) go
one each to the parties with the largest fractional remainders; ties go to roles in the order developer,
contributors, base model owner, compute operator, platform, and to contributors in ascending order of
their key. So the parts always add up to exactly the fee, each part is within one base unit of its exact
share, a party with a zero share or weight never gets anything, and the result depends only on the
inputs (never on dict order). When no contributor has a positive weight, the contributors' part goes to
the platform, which then owes it to nobody.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal
from fractions import Fraction

from eth_utils import is_hex_address, to_checksum_address

BASIS_POINTS = 10_000
TOKENS_PER_RATE_UNIT = 1_000

Weight = int | Fraction | Decimal | float


class InvalidFeeConfig(ValueError):
    """Rates, shares or weights that cannot price or split a fee; the message says which and why."""


@dataclass(frozen=True)
class FeeRates:
    """A model's price: base units per 1000 input / output tokens, and a flat platform fee per inference."""

    rate_in: int
    rate_out: int
    platform_fee: int = 0

    def __post_init__(self) -> None:
        for f in fields(self):
            _require_non_negative_int(f.name, getattr(self, f.name))


@dataclass(frozen=True)
class SplitShares:
    """How a fee is divided between the five roles, in basis points (1/100 %), summing to 10 000."""

    developer: int
    contributors: int
    base_model_owner: int
    compute_operator: int
    platform: int

    def __post_init__(self) -> None:
        for f in fields(self):
            _require_non_negative_int(f.name, getattr(self, f.name))
        total = sum(self.as_tuple())
        if total != BASIS_POINTS:
            raise InvalidFeeConfig(
                f"split shares must sum to {BASIS_POINTS} basis points (100%), got {total}"
            )

    def as_tuple(self) -> tuple[int, int, int, int, int]:
        return (
            self.developer,
            self.contributors,
            self.base_model_owner,
            self.compute_operator,
            self.platform,
        )


@dataclass(frozen=True)
class Parties:
    """The accounts paid for the four single-account roles of one model (contributors come per datanet)."""

    developer: str
    base_model_owner: str
    compute_operator: str
    platform: str


@dataclass(frozen=True)
class FeeSplit:
    fee: int
    developer: int
    base_model_owner: int
    compute_operator: int
    platform: int
    contributors: dict[str, int] = field(default_factory=dict)
    developers: dict[str, int] = field(default_factory=dict)
    """The developer's part per developer, when split by merge weight; empty: all to `Parties.developer`."""

    @property
    def total(self) -> int:
        return (
            self.developer
            + self.base_model_owner
            + self.compute_operator
            + self.platform
            + sum(self.contributors.values())
        )

    def by_account(self, parties: Parties) -> dict[str, int]:
        """Amounts per account (addresses checksummed), summed where one account holds several roles;
        zeros left out."""
        owed: dict[str, int] = {}
        developers = list(self.developers.items()) or [(parties.developer, self.developer)]
        pairs = [
            *developers,
            (parties.base_model_owner, self.base_model_owner),
            (parties.compute_operator, self.compute_operator),
            (parties.platform, self.platform),
            *self.contributors.items(),
        ]
        for account, amount in pairs:
            if amount:
                key = account_key(account)
                owed[key] = owed.get(key, 0) + amount
        return owed


def account_key(account: str) -> str:
    """The one spelling of an account: a checksummed address, or an off-chain key as given.

    Refuses an empty key and a malformed address (``0x`` with the wrong digits): either would otherwise
    become an account nobody can ever claim from.
    """
    if not isinstance(account, str) or not account.strip():
        raise InvalidFeeConfig(f"an account must be an address or a non-empty key, got {account!r}")
    if is_hex_address(account):
        return to_checksum_address(account)
    if account.lower().startswith("0x"):
        raise InvalidFeeConfig(f"{account!r} is not a valid address")
    return account


def inference_fee(*, tokens_in: int, tokens_out: int, rates: FeeRates) -> int:
    _require_non_negative_int("tokens_in", tokens_in)
    _require_non_negative_int("tokens_out", tokens_out)
    token_part = (tokens_in * rates.rate_in + tokens_out * rates.rate_out) // TOKENS_PER_RATE_UNIT
    return token_part + rates.platform_fee


def split_fee(
    fee: int,
    *,
    shares: SplitShares,
    contributor_weights: Mapping[str, Weight],
    developer_weights: Mapping[str, Weight] | None = None,
) -> FeeSplit:
    """Divide `fee` by the remainder rule in the module docstring; the parts sum to exactly `fee`.

    With `developer_weights` (a composite: each part's developer by merge weight) the developer's part
    is apportioned between them by the same rule; without, it goes whole to `Parties.developer`.
    """
    _require_non_negative_int("fee", fee)
    developer, contributors, base_model_owner, compute_operator, platform = apportion(fee, shares.as_tuple())
    developer_amounts: dict[str, int] = {}
    if developer_weights:
        names = sorted(developer_weights)
        by_weight = [_as_fraction(name, developer_weights[name]) for name in names]
        if sum(by_weight) == 0:
            raise InvalidFeeConfig("developer weights must not all be zero")
        parts = apportion(developer, by_weight)
        developer_amounts = {name: part for name, part in zip(names, parts, strict=True) if part}
    keys = sorted(contributor_weights)
    weights = [_as_fraction(key, contributor_weights[key]) for key in keys]
    if sum(weights) == 0:
        platform += contributors
        contributor_amounts: dict[str, int] = {}
    else:
        parts = apportion(contributors, weights)
        contributor_amounts = {key: part for key, part in zip(keys, parts, strict=True) if part}
    return FeeSplit(
        fee=fee,
        developer=developer,
        base_model_owner=base_model_owner,
        compute_operator=compute_operator,
        platform=platform,
        contributors=contributor_amounts,
        developers=developer_amounts,
    )


def apportion(amount: int, weights: Sequence[Weight]) -> list[int]:
    """Split `amount` by `weights` with the largest-remainder rule; ties go to the earlier weight."""
    _require_non_negative_int("amount", amount)
    exact = [_as_fraction(index, w) for index, w in enumerate(weights)]
    total = sum(exact)
    if total == 0:
        raise InvalidFeeConfig("cannot apportion by weights that are all zero")
    quotas = [amount * w / total for w in exact]
    parts = [math.floor(q) for q in quotas]
    leftover = amount - sum(parts)
    by_remainder = sorted(range(len(quotas)), key=lambda i: (-(quotas[i] - parts[i]), i))
    for index in by_remainder[:leftover]:
        parts[index] += 1
    return parts


def _as_fraction(name: Hashable, weight: Weight) -> Fraction:
    if isinstance(weight, bool) or not isinstance(weight, int | Fraction | Decimal | float):
        raise InvalidFeeConfig(f"weight of {name!r} must be a number, got {weight!r}")
    if isinstance(weight, float | Decimal) and not math.isfinite(weight):
        raise InvalidFeeConfig(f"weight of {name!r} must be finite, got {weight!r}")
    value = Fraction(weight)
    if value < 0:
        raise InvalidFeeConfig(f"weight of {name!r} must not be negative, got {weight!r}")
    return value


def _require_non_negative_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidFeeConfig(f"{name} must be a non-negative integer, got {value!r}")
