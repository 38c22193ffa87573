"""One percentile definition: numpy's default (linear interpolation between the closest ranks)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from primitives.percentiles import percentile


@pytest.mark.parametrize("size", [1, 2, 3, 10, 101, 1000])
def test_it_matches_numpy_on_random_data(size):
    rng = random.Random(size)
    values = [rng.uniform(-5, 50) for _ in range(size)]
    for q in (0, 1, 5, 25, 50, 75, 90, 95, 99, 99.9, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)), rel=1e-12, abs=1e-12)


def test_nothing_measured_is_none_and_missing_values_are_skipped():
    assert percentile([], 50) is None
    assert percentile([None, None], 95) is None
    assert percentile([3.0, None, 1.0, None, 2.0], 50) == 2.0


def test_a_share_instead_of_a_percentage_is_refused():
    with pytest.raises(ValueError):
        percentile([1.0], 101)
