"""Fees and their split: whole base units that always add up to exactly what the inference cost."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.fee_split import (
    BASIS_POINTS,
    FeeRates,
    InvalidFeeConfig,
    Parties,
    SplitShares,
    apportion,
    inference_fee,
    split_fee,
)

SHARES = SplitShares(
    developer=4000, contributors=3000, base_model_owner=1000, compute_operator=1500, platform=500
)
ALICE, BOB, CAROL = "0x" + "a1" * 20, "0x" + "b2" * 20, "0x" + "c3" * 20


def test_the_fee_is_tokens_per_thousand_times_rate_plus_the_platform_fee():
    rates = FeeRates(rate_in=2_000, rate_out=6_000, platform_fee=50)
    assert inference_fee(tokens_in=1_500, tokens_out=250, rates=rates) == 3_000 + 1_500 + 50


def test_the_token_part_is_rounded_down_once_over_the_sum():
    rates = FeeRates(rate_in=1, rate_out=1, platform_fee=0)
    # 0.6 + 0.6 = 1.2 base units: rounding each term down would charge 0, rounding the sum charges 1.
    assert inference_fee(tokens_in=600, tokens_out=600, rates=rates) == 1


@pytest.mark.parametrize(
    "rates",
    [
        dict(rate_in=-1, rate_out=0),
        dict(rate_in=0, rate_out=1.5),
        dict(rate_in=0, rate_out=0, platform_fee=True),
    ],
)
def test_rates_must_be_non_negative_whole_base_units(rates):
    with pytest.raises(InvalidFeeConfig):
        FeeRates(**rates)


def test_shares_must_sum_to_one_hundred_percent():
    with pytest.raises(InvalidFeeConfig, match="10000"):
        SplitShares(
            developer=5000, contributors=3000, base_model_owner=1000, compute_operator=500, platform=0
        )


def test_a_fee_splits_by_shares_and_contributors_by_their_weights():
    split = split_fee(10_000, shares=SHARES, contributor_weights={ALICE: 3, BOB: 1})

    assert (split.developer, split.base_model_owner, split.compute_operator, split.platform) == (
        4000,
        1000,
        1500,
        500,
    )
    assert split.contributors == {ALICE: 2250, BOB: 750}
    assert split.total == 10_000


def test_leftover_units_go_to_the_largest_remainders_then_in_role_order():
    # 7 units by 40/30/10/15/5 %: quotas 2.8, 2.1, 0.7, 1.05, 0.35 -> floors 2, 2, 0, 1, 0 and 2 left over,
    # which go to the two largest remainders: developer (.8) and base model owner (.7).
    split = split_fee(7, shares=SHARES, contributor_weights={ALICE: 1})
    assert (split.developer, split.contributors[ALICE], split.base_model_owner) == (3, 2, 1)
    assert (split.compute_operator, split.platform) == (1, 0)


def test_ties_between_contributors_go_to_the_lowest_key_whatever_the_dict_order():
    assert apportion(1, [1, 1, 1]) == [1, 0, 0]
    forward = split_fee(10, shares=SHARES, contributor_weights={ALICE: 1, BOB: 1, CAROL: 1})
    backward = split_fee(10, shares=SHARES, contributor_weights={CAROL: 1, BOB: 1, ALICE: 1})
    assert forward == backward
    assert forward.contributors == {ALICE: 1, BOB: 1, CAROL: 1}


def test_without_contributors_their_share_goes_to_the_platform():
    split = split_fee(10_000, shares=SHARES, contributor_weights={})
    assert split.contributors == {}
    assert split.platform == 500 + 3000
    assert split_fee(10_000, shares=SHARES, contributor_weights={ALICE: 0}).platform == 3500


def test_fractional_attribution_weights_are_used_exactly():
    by_float = split_fee(1000, shares=SHARES, contributor_weights={ALICE: 0.25, BOB: 0.75})
    by_decimal = split_fee(
        1000, shares=SHARES, contributor_weights={ALICE: Decimal("0.25"), BOB: Decimal("0.75")}
    )
    assert by_float.contributors == by_decimal.contributors == {ALICE: 75, BOB: 225}


@pytest.mark.parametrize("weight", [-1, float("nan"), float("inf"), "3", None])
def test_weights_must_be_finite_non_negative_numbers(weight):
    with pytest.raises(InvalidFeeConfig):
        split_fee(100, shares=SHARES, contributor_weights={ALICE: weight})


def test_amounts_per_account_sum_the_roles_one_account_holds():
    split = split_fee(10_000, shares=SHARES, contributor_weights={ALICE: 1, BOB: 1})
    parties = Parties(developer=ALICE, base_model_owner=CAROL, compute_operator=CAROL, platform=CAROL)

    owed = split.by_account(parties)

    assert sum(owed.values()) == 10_000
    by_lower = {account.lower(): amount for account, amount in owed.items()}
    assert by_lower == {ALICE: 4000 + 1500, BOB: 1500, CAROL: 1000 + 1500 + 500}


# --- Properties ----------------------------------------------------------------------------------------
def shares_strategy():
    return (
        st.lists(st.integers(min_value=0, max_value=BASIS_POINTS), min_size=4, max_size=4)
        .map(lambda cuts: sorted(cuts))
        .map(
            lambda cuts: SplitShares(
                developer=cuts[0],
                contributors=cuts[1] - cuts[0],
                base_model_owner=cuts[2] - cuts[1],
                compute_operator=cuts[3] - cuts[2],
                platform=BASIS_POINTS - cuts[3],
            )
        )
    )


contributor_keys = st.binary(min_size=20, max_size=20).map(lambda raw: "0x" + raw.hex())
weights = st.one_of(
    st.integers(min_value=0, max_value=10**6),
    st.fractions(min_value=0, max_value=1000, max_denominator=10**6),
    st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False),
)
fees = st.integers(min_value=0, max_value=10**30)


@settings(max_examples=300, deadline=None)
@given(
    fee=fees,
    shares=shares_strategy(),
    contributor_weights=st.dictionaries(contributor_keys, weights, max_size=12),
)
def test_any_split_adds_up_exactly_to_the_fee_with_no_negative_part(fee, shares, contributor_weights):
    split = split_fee(fee, shares=shares, contributor_weights=contributor_weights)

    parts = [split.developer, split.base_model_owner, split.compute_operator, split.platform]
    parts += split.contributors.values()
    assert sum(parts) == split.total == fee
    assert all(part >= 0 for part in parts)


@settings(max_examples=200, deadline=None)
@given(
    fee=fees,
    shares=shares_strategy(),
    contributor_weights=st.dictionaries(contributor_keys, weights, max_size=12),
)
def test_any_split_is_deterministic_and_ignores_the_order_of_contributors(fee, shares, contributor_weights):
    reordered = dict(reversed(list(contributor_weights.items())))
    assert split_fee(fee, shares=shares, contributor_weights=contributor_weights) == split_fee(
        fee, shares=shares, contributor_weights=reordered
    )


@settings(max_examples=300, deadline=None)
@given(
    amount=st.integers(min_value=0, max_value=10**30),
    parts_weights=st.lists(weights, min_size=1, max_size=15).filter(
        lambda ws: sum(Fraction(w) for w in ws) > 0
    ),
)
def test_each_part_is_within_one_unit_of_its_exact_share_and_zero_weights_get_nothing(amount, parts_weights):
    parts = apportion(amount, parts_weights)

    exact = [Fraction(w) for w in parts_weights]
    total = sum(exact)
    assert sum(parts) == amount
    for part, weight in zip(parts, exact, strict=True):
        assert abs(part - amount * weight / total) < 1
        if weight == 0:
            assert part == 0
