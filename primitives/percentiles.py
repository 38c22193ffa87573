"""The one percentile definition behind every latency figure the project reports.

The engine's metrics, the engine benchmark and the API load test each once computed percentiles their
own way (nearest rank rounded, nearest rank ceiled, statistics' quantiles), so a p95 on one page could
not be compared with a p95 in a benchmark report. Here it is linear interpolation between the closest
ranks: numpy's default and the 'inclusive' method of `statistics.quantiles`, the figure most tools show.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def percentile(values: Iterable[float | None], q: float) -> float | None:
    """The ``q``-th percentile (0..100) of the values that are not None; None when there are none."""
    if not 0 <= q <= 100:
        raise ValueError(f"a percentile is between 0 and 100, got {q}")
    ordered = sorted(value for value in values if value is not None)
    if not ordered:
        return None
    position = q / 100 * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)
