"""Attributing rows to contributors the way real communities look: a few do most of the work.

Each datanet gets its own pool (the owner plus 9–13 others) and a Zipf-like weighting
(weight 1/rank^1.1), so payout splits in the demo are uneven and therefore interesting.
Every pool member is guaranteed at least one row.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

ZIPF_EXPONENT = 1.1


def contributor_pool(owner: str, candidates: Sequence[str], rng: random.Random) -> list[str]:
    """Pick the datanet's contributors, ranked; the owner is the first or second most active."""
    others = [name for name in candidates if name != owner]
    pool = rng.sample(others, rng.randint(9, 13))
    pool.insert(rng.choice((0, 0, 0, 1)), owner)
    return pool


def attribute(row_count: int, pool: Sequence[str], rng: random.Random) -> list[str]:
    """Return one username per row: everyone in the pool once, the rest drawn Zipf-weighted."""
    if row_count < len(pool):
        raise ValueError("more contributors than rows")
    weights = [1.0 / (rank + 1) ** ZIPF_EXPONENT for rank in range(len(pool))]
    names = list(pool) + rng.choices(list(pool), weights=weights, k=row_count - len(pool))
    rng.shuffle(names)
    return names
