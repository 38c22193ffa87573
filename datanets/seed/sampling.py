"""Drawing a fixed number of distinct rows from a composer of random variations.

Every seed module composes rows from hand-written building blocks with a seeded
`random.Random`; this keeps drawing until it has enough rows that differ after
whitespace/case normalisation, so the datanets contain no near-verbatim duplicates.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from .records import normalized_key


def draw_unique(compose: Callable[[random.Random], dict], count: int, rng: random.Random) -> list[dict]:
    """Call `compose` until `count` distinct contents exist; fail loudly if the blocks are too few."""
    seen: set[str] = set()
    rows: list[dict] = []
    attempts = 0
    while len(rows) < count:
        attempts += 1
        if attempts > count * 40:
            raise RuntimeError(f"only {len(rows)} distinct rows after {attempts} draws (wanted {count})")
        content = compose(rng)
        key = normalized_key(content)
        if key in seen:
            continue
        seen.add(key)
        rows.append(content)
    return rows
