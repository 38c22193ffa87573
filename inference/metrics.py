"""Counters and latency histograms the engine exposes through `Engine.stats()` and Prometheus text.

Histograms keep Prometheus-style cumulative buckets (cheap, unbounded runtime) plus the most recent
samples for exact-enough p50/p95 in `stats()`.
"""

from __future__ import annotations

import threading
from collections import deque

from primitives.percentiles import percentile

DEFAULT_BUCKETS_S: tuple[float, ...] = (
    0.001,
    0.002,
    0.005,
    0.01,
    0.02,
    0.05,
    0.1,
    0.2,
    0.5,
    1.0,
    2.0,
    5.0,
    10.0,
)


class LatencyHistogram:
    """Seconds observed for one kind of event (adapter load, time to first token, ...)."""

    def __init__(self, buckets: tuple[float, ...] = DEFAULT_BUCKETS_S, keep: int = 4096) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.total = 0.0
        self.count = 0
        self.recent: deque[float] = deque(maxlen=keep)
        self._lock = threading.Lock()

    def observe(self, seconds: float) -> None:
        with self._lock:
            self.count += 1
            self.total += seconds
            self.recent.append(seconds)
            for i, bound in enumerate(self.buckets):
                if seconds <= bound:
                    self.counts[i] += 1
                    break
            else:
                self.counts[-1] += 1

    def percentile(self, q: float) -> float | None:
        with self._lock:
            samples = list(self.recent)
        return percentile(samples, q)

    def summary(self) -> dict:
        return {
            "count": self.count,
            "sum_s": self.total,
            "p50_s": self.percentile(50),
            "p95_s": self.percentile(95),
        }

    def prometheus(self, name: str) -> list[str]:
        lines = [f"# TYPE {name} histogram"]
        cumulative = 0
        for bound, count in zip(self.buckets, self.counts, strict=False):
            cumulative += count
            lines.append(f'{name}_bucket{{le="{bound}"}} {cumulative}')
        lines.append(f'{name}_bucket{{le="+Inf"}} {self.count}')
        lines.append(f"{name}_sum {self.total}")
        lines.append(f"{name}_count {self.count}")
        return lines


def prometheus_text(
    stats: dict, histograms: dict[str, LatencyHistogram], prefix: str = "modelfactory_engine"
) -> str:
    """Flatten numeric stats (nested dicts joined by `_`) and histograms into the text exposition format."""
    lines: list[str] = []

    def walk(path: str, value: object) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{path}_{key}", inner)
        elif isinstance(value, bool):
            lines.append(f"{path} {int(value)}")
        elif isinstance(value, int | float):
            lines.append(f"{path} {value}")

    walk(prefix, {key: value for key, value in stats.items() if not isinstance(value, list)})
    for name, histogram in histograms.items():
        lines.extend(histogram.prometheus(f"{prefix}_{name}_seconds"))
    return "\n".join(lines) + "\n"
