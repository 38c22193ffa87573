"""The Prometheus registry of this process, and the metrics the web process keeps as requests pass.

Counters and histograms that change per request (HTTP, answers per model) live here; everything else
(the engine, the Celery queues, the settlement backlog) is read when /metrics is scraped
(`collectors.py`), so nothing runs in the background and a process that is never scraped pays nothing.
Each web replica is its own target: uvicorn runs one process per replica, so one in-process registry
holds all of its numbers.
"""

from __future__ import annotations

import threading

from django.conf import settings
from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.exposition import choose_encoder

# No `_created` series beside every counter and histogram: twice the series for a timestamp that
# Prometheus infers from resets anyway.
disable_created_metrics()
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

# From a cached page (milliseconds) to a whole non-streamed answer (the engine's minutes at worst).
_HTTP_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)

HTTP_REQUESTS = Counter(
    "modelfactory_http_requests",
    "HTTP requests answered, by route name (not path: ids would make series unbounded) and status class.",
    ["route", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "modelfactory_http_request_duration_seconds",
    "Seconds from the request's arrival to its response's headers (a stream's first byte, not its end).",
    ["route", "status"],
    buckets=_HTTP_BUCKETS_S,
    registry=REGISTRY,
)
API_ANSWERS = Counter(
    "modelfactory_api_answers",
    "Answers the API started, by model (the first MODELFACTORY_METRICS_TOP_MODELS seen; the rest 'other').",
    ["model", "status"],
    registry=REGISTRY,
)

OTHER = "other"


class FirstSeenLabels:
    """Label values for an open-ended set (model names): the first `limit` seen keep theirs, later ones are
    `other`. Fixed once given, so a counter's series never moves between labels, which would read as a
    reset; a top-N recomputed at each scrape would do exactly that."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._named: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        with self._lock:
            if value in self._named:
                return value
            if len(self._named) < self.limit:
                self._named.add(value)
                return value
        return OTHER


_answer_models: FirstSeenLabels | None = None


def answer_model_label(model: str) -> str:
    global _answer_models
    if _answer_models is None:
        _answer_models = FirstSeenLabels(settings.MODELFACTORY_METRICS_TOP_MODELS)
    return _answer_models(model)


def status_class(status: int) -> str:
    return f"{status // 100}xx"


def exposition(accept: str) -> tuple[bytes, str]:
    """Everything in the registry, and its content type, in the format the scraper's Accept header asks
    for (Prometheus text, or OpenMetrics). The operations collector registers on first use: importing this
    module must not read the database or the broker."""
    from modelfactory.observability.collectors import ensure_registered

    ensure_registered(REGISTRY)
    encoder, content_type = choose_encoder(accept)
    return encoder(REGISTRY), content_type
