"""What /metrics reads when it is scraped: the serving engine, the Celery queues, the settlement backlog.

Each part is read on its own and never fails the scrape: a part that cannot be read (the database or the
broker down) is left out and `modelfactory_metrics_part_up{part=...}` says 0, which is what an alert
should watch. The engine is only read when it already runs in this process: a scrape must never load a
model (`engine_runtime.engine_if_started`).

The engine's `stats()` grows as the engine does, so it is read defensively: the figures named here get
proper types and labels, a missing one is skipped, and any other number it reports is still exported as
a gauge named after its key (`modelfactory_engine_<key>`, `modelfactory_engine_adapters_<key>`, ...).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Iterator

from django.conf import settings
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

logger = logging.getLogger(__name__)

ENGINE = "modelfactory_engine"


# --- reading stats defensively ------------------------------------------------------------------------
def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    return None


def _mapping(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _metric_name(*parts: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", "_", "_".join(parts))


def _gauge(name: str, documentation: str, value: object) -> list[Metric]:
    number = _number(value)
    return [] if number is None else [GaugeMetricFamily(name, documentation, value=number)]


def _counter(name: str, documentation: str, value: object) -> list[Metric]:
    number = _number(value)
    return [] if number is None else [CounterMetricFamily(name, documentation, value=number)]


def _labelled_counter(name: str, documentation: str, label: str, values: dict[str, object]) -> list[Metric]:
    family = CounterMetricFamily(name, documentation, labels=[label])
    for label_value, value in values.items():
        if (number := _number(value)) is not None:
            family.add_metric([label_value], number)
    return [family] if family.samples else []


def _unknown_numbers(prefix: str, stats: dict, known: Iterable[str]) -> list[Metric]:
    """Numbers `stats` reports that this module does not know yet, as gauges, one level of nesting deep."""
    families: list[Metric] = []
    known = set(known)
    for key, value in stats.items():
        if key in known:
            continue
        if isinstance(value, dict):
            for inner, number in value.items():
                families += _gauge(_metric_name(prefix, key, inner), f"engine stats: {key}.{inner}", number)
        else:
            families += _gauge(_metric_name(prefix, key), f"engine stats: {key}", value)
    return families


def _latency(name: str, documentation: str, histogram: object, summary: object) -> list[Metric]:
    """A histogram from the engine's own buckets when it keeps them (`inference.metrics.LatencyHistogram`),
    so replicas can be aggregated; otherwise the count, sum and recent quantiles `stats()` reports."""
    buckets, counts = getattr(histogram, "buckets", None), getattr(histogram, "counts", None)
    if isinstance(buckets, tuple | list) and isinstance(counts, list) and len(counts) == len(buckets) + 1:
        counts, total, count = list(counts), float(histogram.total), int(histogram.count)
        cumulative, rows = 0, []
        for bound, in_bucket in zip(buckets, counts, strict=False):
            cumulative += in_bucket
            rows.append((repr(float(bound)), cumulative))
        rows.append(("+Inf", max(count, cumulative)))
        return [HistogramMetricFamily(name, documentation, buckets=rows, sum_value=total)]
    summary = _mapping(summary)
    if _number(summary.get("count")) is None:
        return []
    family = Metric(name, documentation, "summary")
    for quantile, key in (("0.5", "p50_s"), ("0.95", "p95_s")):
        if (value := _number(summary.get(key))) is not None:
            family.add_sample(name, {"quantile": quantile}, value)
    family.add_sample(name + "_count", {}, _number(summary["count"]))
    family.add_sample(name + "_sum", {}, _number(summary.get("sum_s")) or 0.0)
    return [family]


# --- the engine ---------------------------------------------------------------------------------------
_ENGINE_COUNTERS = {
    "requests": "Requests submitted to this process's engine since it started.",
    "generated_tokens": "Tokens generated.",
    "prompt_tokens": "Prompt tokens prefilled (a preempted request's re-prefill counts again).",
    "steps": "Engine steps (one batched forward pass each).",
    "batched_seqs": "Sequences summed over steps (divided by steps: the mean batch size).",
    "preemptions": "Running sequences preempted to free KV-cache blocks.",
}
_ENGINE_GAUGES = {
    "queue_depth": "Requests waiting for a slot in the running batch.",
    "batch_size": "Sequences in the last step's batch.",
    "mean_batch_size": "Mean sequences per step since the engine started.",
    "tokens_per_s": "Generated tokens per second, averaged since the engine started (rate() the counter "
    "modelfactory_engine_generated_tokens_total for now).",
    "kv_blocks_free": "KV-cache blocks free (evictable cached prefix blocks count as free).",
    "kv_blocks_total": "KV-cache blocks in all.",
}
_ENGINE_OUTCOMES = ("finished", "failed", "cancelled")
_ENGINE_LATENCIES = {
    "time_to_first_token": ("ttft", "Seconds from a request's submission to its first token."),
    "inter_token": ("inter_token", "Seconds between two tokens of one sequence."),
    "step": ("step_time", "Seconds one engine step takes."),
}
_ADAPTER_LOOKUPS = {"device_hits": "device_hit", "host_hits": "host_hit", "host_misses": "host_miss"}
_ADAPTER_GAUGES = {
    "registered": "Adapters registered (on disk, servable).",
    "loading": "Adapters being loaded from disk now.",
    "failed": "Adapters whose load failed.",
    "host_bytes": "Bytes of adapter weights held in host memory.",
    "host_budget_bytes": "The host tier's budget in bytes.",
    "device_pages_used": "Device pages of the adapter pool in use.",
    "device_pages_total": "Device pages of the adapter pool.",
    "device_bytes_per_page": "Bytes one device page of the adapter pool holds.",
}
_ADAPTER_LATENCIES = {
    "disk_load": "Seconds to read an adapter from disk into host memory.",
    "device_copy": "Seconds to copy an adapter from host memory into the device pool.",
}
_PREFIX_COUNTERS = {
    "hit_tokens": "Prompt tokens served from cached prefix blocks.",
    "queried_tokens": "Prompt tokens looked up in the prefix cache.",
    "evictions": "Cached prefix blocks evicted.",
}
_PREFIX_GAUGES = {
    "enabled": "1 when prefix caching is on.",
    "hit_rate": "Share of looked-up prompt tokens found cached, since the engine started.",
    "cached_blocks": "KV-cache blocks holding a cached prefix.",
    "evictable_blocks": "Cached prefix blocks no running sequence uses (evicted first when blocks run out).",
}


def engine_families(top_models: int) -> list[Metric]:
    from modelfactory.serving.engine_runtime import engine_if_started

    running = engine_if_started()
    families: list[Metric] = _gauge(
        f"{ENGINE}_started",
        "1 when this process's serving engine has started (it starts on the first answer; until then "
        "no other engine series is reported).",
        running is not None,
    )
    if running is None:
        return families
    stats = _mapping(running.stats())
    families += _gauge(f"{ENGINE}_sequences_running", "Sequences in the running batch.", stats.get("running"))
    for key, documentation in _ENGINE_COUNTERS.items():
        families += _counter(f"{ENGINE}_{key}", documentation, stats.get(key))
    families += _labelled_counter(
        f"{ENGINE}_requests_ended",
        "Requests that left the engine, by outcome.",
        "outcome",
        {outcome: stats.get(outcome) for outcome in _ENGINE_OUTCOMES},
    )
    for key, documentation in _ENGINE_GAUGES.items():
        families += _gauge(f"{ENGINE}_{key}", documentation, stats.get(key))
    for key, (attribute, documentation) in _ENGINE_LATENCIES.items():
        families += _latency(
            f"{ENGINE}_{key}_seconds", documentation, getattr(running, attribute, None), stats.get(key)
        )
    families += _adapter_families(_mapping(stats.get("adapters")), getattr(running, "adapters", None))
    families += _prefix_cache_families(_mapping(stats.get("prefix_cache")))
    known = [
        *_ENGINE_COUNTERS,
        *_ENGINE_GAUGES,
        *_ENGINE_OUTCOMES,
        *_ENGINE_LATENCIES,
        "running",
        "adapters",
        "resident_adapters",
        "prefix_cache",
    ]
    families += _resident_adapter_families(stats.get("resident_adapters"), top_models)
    families += _unknown_numbers(ENGINE, stats, known)
    return _first_of_each_name(families)


def _first_of_each_name(families: list[Metric]) -> list[Metric]:
    """A new stats key whose gauge name happens to be taken keeps out of the way of the named figure."""
    seen: set[str] = set()
    unique = []
    for family in families:
        if family.name not in seen:
            seen.add(family.name)
            unique.append(family)
    return unique


def _adapter_families(adapters: dict, cache: object) -> list[Metric]:
    if not adapters:
        return []
    prefix = f"{ENGINE}_adapters"
    families: list[Metric] = []
    tiers = GaugeMetricFamily(
        f"{prefix}_resident", "Adapters held in each tier (device pool, host memory).", labels=["tier"]
    )
    for tier in ("device", "host"):
        if (count := _number(adapters.get(f"{tier}_resident"))) is not None:
            tiers.add_metric([tier], count)
    families += [tiers] if tiers.samples else []
    for key, documentation in _ADAPTER_GAUGES.items():
        families += _gauge(f"{prefix}_{key}", documentation, adapters.get(key))
    families += _labelled_counter(
        f"{ENGINE}_adapter_lookups",
        "Adapter lookups of requests: found in the device pool, found in host memory, or read from disk.",
        "result",
        {result: adapters.get(key) for key, result in _ADAPTER_LOOKUPS.items()},
    )
    families += _counter(
        f"{ENGINE}_adapter_disk_loads", "Adapter reads from disk.", adapters.get("disk_loads")
    )
    families += _counter(
        f"{ENGINE}_adapter_device_full",
        "Times a request's adapter found the device pool full of adapters in use.",
        adapters.get("device_full"),
    )
    evictions = CounterMetricFamily(
        f"{ENGINE}_adapter_evictions",
        "Adapters evicted from a tier, by tier and reason.",
        labels=["tier", "reason"],
    )
    for key, value in _mapping(adapters.get("evictions")).items():
        tier, _, reason = str(key).rpartition(":")
        if (number := _number(value)) is not None:
            evictions.add_metric([tier, reason], number)
    families += [evictions] if evictions.samples else []
    for key, documentation in _ADAPTER_LATENCIES.items():
        families += _latency(
            f"{ENGINE}_adapter_{key}_seconds", documentation, getattr(cache, key, None), adapters.get(key)
        )
    known = [
        *_ADAPTER_GAUGES,
        *_ADAPTER_LOOKUPS,
        *_ADAPTER_LATENCIES,
        "device_resident",
        "host_resident",
        "disk_loads",
        "device_full",
        "evictions",
    ]
    return families + _unknown_numbers(prefix, adapters, known)


def _prefix_cache_families(prefix_cache: dict) -> list[Metric]:
    prefix = f"{ENGINE}_prefix_cache"
    families: list[Metric] = []
    for key, documentation in _PREFIX_COUNTERS.items():
        families += _counter(f"{prefix}_{key}", documentation, prefix_cache.get(key))
    for key, documentation in _PREFIX_GAUGES.items():
        families += _gauge(f"{prefix}_{key}", documentation, prefix_cache.get(key))
    return families + _unknown_numbers(prefix, prefix_cache, [*_PREFIX_COUNTERS, *_PREFIX_GAUGES])


def _resident_adapter_families(resident: object, top_models: int) -> list[Metric]:
    """Which adapters each tier holds, by name for the `top_models` most recently used ones (the tiers are
    kept in use order, most recent last) and as one `other` count for the rest, so a pool of thousands of
    adapters stays a bounded number of series."""
    family = GaugeMetricFamily(
        f"{ENGINE}_adapter_resident",
        "1 for an adapter held in a tier (the most recently used by name, the rest counted as 'other').",
        labels=["adapter", "tier"],
    )
    for tier, names in _mapping(resident).items():
        if not isinstance(names, list):
            continue
        named = names[-top_models:]
        for name in named:
            family.add_metric([str(name).rpartition("@")[0] or str(name), str(tier)], 1)
        if len(names) > len(named):
            family.add_metric(["other", str(tier)], len(names) - len(named))
    return [family] if family.samples else []


# --- the Celery queues ---------------------------------------------------------------------------------
def celery_queues() -> list[str]:
    """Every queue a task goes to: `default`, the training queues, and those of the routes."""
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    return sorted({settings.CELERY_TASK_DEFAULT_QUEUE, "cpu", "gpu"} | routed)


# kombu's Redis transport keeps a queue's messages in a list named after it, and messages with a priority
# in lists named queue + "\x06\x16" + step (kombu.transport.redis: PRIORITY_STEPS, sep).
_REDIS_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")
_redis_clients: dict[str, object] = {}
_sql_engines: dict[str, object] = {}


def _redis_lengths(url: str, queues: list[str]) -> dict[str, int]:
    import redis

    client = _redis_clients.get(url)
    if client is None:
        client = _redis_clients[url] = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    pipeline = client.pipeline(transaction=False)
    for queue in queues:
        for suffix in _REDIS_PRIORITY_SUFFIXES:
            pipeline.llen(queue + suffix)
    lengths = pipeline.execute()
    per_queue = len(_REDIS_PRIORITY_SUFFIXES)
    return {queue: sum(lengths[i * per_queue : (i + 1) * per_queue]) for i, queue in enumerate(queues)}


def _sql_lengths(url: str, queues: list[str]) -> dict[str, int]:
    """kombu's SQLAlchemy transport (the embedded SQLite broker of `make run`): visible messages per queue,
    one grouped count on its own tables, with a short lock timeout so a busy broker file cannot stall a
    scrape."""
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    engine = _sql_engines.get(url)
    if engine is None:
        database_url = url.removeprefix("sqla+")
        connect_args = {"timeout": 2} if database_url.startswith("sqlite") else {"connect_timeout": 2}
        engine = _sql_engines[url] = sqlalchemy.create_engine(
            database_url, poolclass=NullPool, connect_args=connect_args
        )
    lengths = dict.fromkeys(queues, 0)
    if not sqlalchemy.inspect(engine).has_table("kombu_message"):
        return lengths  # no message was ever sent: kombu creates its tables on first use
    query = sqlalchemy.text(
        "SELECT q.name, COUNT(m.id) FROM kombu_queue q JOIN kombu_message m ON m.queue_id = q.id "
        "WHERE m.visible = :visible GROUP BY q.name"
    )
    with engine.connect() as connection:
        for name, count in connection.execute(query, {"visible": True}):
            if name in lengths:
                lengths[name] = int(count)
    return lengths


def broker_families() -> list[Metric]:
    url = settings.CELERY_BROKER_URL
    queues = celery_queues()
    if url.startswith(("redis://", "rediss://")):
        lengths = _redis_lengths(url, queues)
    elif url.startswith("sqla+"):
        lengths = _sql_lengths(url, queues)
    else:  # memory:// (tests), amqp://: not read (README, "Metrics")
        return []
    family = GaugeMetricFamily(
        "modelfactory_celery_queue_messages",
        "Task messages waiting in each Celery queue (not counting those a worker has taken).",
        labels=["queue"],
    )
    for queue in queues:
        family.add_metric([queue], lengths[queue])
    return [family]


# --- the settlement backlog -----------------------------------------------------------------------------
def settlement_families() -> list[Metric]:
    from modelfactory.observability.selectors import settlement_backlog

    backlog = settlement_backlog()
    epochs = GaugeMetricFamily(
        "modelfactory_settlement_epochs_pending",
        "Epochs closed but not committed on chain yet: open (not sent) or committing (sent, not confirmed).",
        labels=["status"],
    )
    for status, count in backlog.epochs_pending.items():
        epochs.add_metric([status], count)
    receipts = GaugeMetricFamily(
        "modelfactory_settlement_receipts_waiting",
        "Receipts not assigned to an epoch yet (they wait for the next one to close).",
        value=backlog.receipts_waiting,
    )
    return [epochs, receipts]


# --- all of it ------------------------------------------------------------------------------------------
class OperationsCollector:
    """The parts above, each read on its own at every scrape, with `modelfactory_metrics_part_up`."""

    def collect(self) -> Iterator[Metric]:
        parts = {
            "engine": lambda: engine_families(settings.MODELFACTORY_METRICS_TOP_MODELS),
            "broker": broker_families,
            "settlement": settlement_families,
        }
        up = GaugeMetricFamily(
            "modelfactory_metrics_part_up",
            "1 when this scrape could read the part (engine, broker queues, settlement backlog).",
            labels=["part"],
        )
        for name, read in parts.items():
            try:
                families = read()
            except Exception as error:  # a part that cannot be read is reported down, never a failed scrape
                logger.warning("metrics: could not read the %s: %s: %s", name, type(error).__name__, error)
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from families
        yield up


_registered = False
_registering = threading.Lock()


def ensure_registered(registry) -> None:
    global _registered
    with _registering:
        if not _registered:
            registry.register(OperationsCollector())
            _registered = True
