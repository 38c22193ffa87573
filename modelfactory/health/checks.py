"""Reads that tell whether each part of the platform works, for `/healthz` and the status page.

Each check is cheap, bounded by a short timeout, and never raises: a failure is a result with
the reason a person needs to fix it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    latency_ms: float = 0.0
    data: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def check_database() -> CheckResult:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    vendor = connection.vendor
    return CheckResult("database", True, f"{vendor} answered", data={"vendor": vendor})


def check_broker() -> CheckResult:
    from modelfactory.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        transport = conn.transport_cls
    return CheckResult("broker", True, f"{transport} broker reachable", data={"transport": str(transport)})


def check_chain() -> CheckResult:
    from contracts.chain_client import ChainClient

    status = ChainClient(settings.CHAIN_RPC_URL, timeout_s=2).status()
    return CheckResult(
        "chain",
        True,
        f"chain {status.chain_id} at block {status.block_number}",
        data={
            "chain_id": status.chain_id,
            "block_number": status.block_number,
            "client": status.client_version,
        },
    )


def check_engine() -> CheckResult:
    """The serving engine of this web process, or, before its first request, its base model."""
    from inference.base_model import locate_base_model
    from modelfactory.serving.engine_runtime import engine_if_started

    info = locate_base_model(settings.MODELFACTORY_BASE_MODEL)
    running = engine_if_started()
    if running is None:
        return CheckResult(
            "engine",
            True,
            f"base model {info.architecture} ready at {info.path}; the engine starts on the first request",
            data={**info.as_dict(), "started": False},
        )
    stats = running.stats()
    return CheckResult(
        "engine",
        True,
        f"serving {info.architecture} from {info.path}",
        data={**info.as_dict(), "started": True, "stats": stats},
    )


def check_workers() -> CheckResult:
    from modelfactory.health.models import Heartbeat

    fresh_after = timezone.now() - timedelta(seconds=settings.MODELFACTORY_WORKER_STALE_AFTER_S)
    workers = list(Heartbeat.objects.filter(kind=Heartbeat.Kind.WORKER).order_by("name"))
    alive = [w for w in workers if w.last_seen >= fresh_after]
    data = {
        "alive": [{"name": w.name, "queues": w.detail.get("queues", [])} for w in alive],
        "stale": [{"name": w.name, "last_seen": w.last_seen.isoformat()} for w in workers if w not in alive],
    }
    if not alive:
        return CheckResult(
            "workers",
            False,
            "no Celery worker has reported in; start one with `celery -A modelfactory worker`",
            data=data,
        )
    # Every queue should have a consumer; a missing one degrades (work waits) rather than breaks the app.
    served = {queue for w in alive for queue in w.detail.get("queues", [])}
    expected = {"default", "cpu", "attribution", "settlement"}
    data["unserved_queues"] = sorted(expected - served)
    message = f"{len(alive)} worker(s) alive"
    if data["unserved_queues"]:
        message += f"; no worker consumes {', '.join(data['unserved_queues'])} (that work waits)"
    return CheckResult("workers", True, message, data=data)


def check_scheduler() -> CheckResult:
    """Beat → broker → worker, end to end: the scheduled heartbeat task ran recently."""
    from modelfactory.health.models import Heartbeat

    heartbeat = Heartbeat.objects.filter(kind=Heartbeat.Kind.PIPELINE).first()
    stale_after = timedelta(seconds=max(45, settings.MODELFACTORY_WORKER_STALE_AFTER_S))
    if heartbeat is None:
        return CheckResult("scheduler", False, "no scheduled task has run yet; is `celery beat` running?")
    age = timezone.now() - heartbeat.last_seen
    if age > stale_after:
        return CheckResult(
            "scheduler",
            False,
            f"the scheduled heartbeat last ran {int(age.total_seconds())} s ago",
            data={"last_run": heartbeat.last_seen.isoformat()},
        )
    return CheckResult(
        "scheduler",
        True,
        f"scheduled task ran {int(age.total_seconds())} s ago",
        data={"last_run": heartbeat.last_seen.isoformat()},
    )


def check_migrations() -> CheckResult:
    """Every migration this code ships is applied to the database.

    A replica of a new release that starts before `migrate` has run would query columns that do not
    exist yet. Once all are applied they stay applied for the life of this process (new migrations come
    with new code, hence a new process), so the loader, which reads every migration file, runs only
    until the first success.
    """
    global _migrations_applied
    if not _migrations_applied:
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if plan:
            names = [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]
            return CheckResult(
                "migrations",
                False,
                f"{len(plan)} migration(s) not applied ({', '.join(names[:3])}...): run `manage.py migrate`",
                data={"unapplied": names},
            )
        _migrations_applied = True
    return CheckResult("migrations", True, "every migration is applied")


_migrations_applied = False


def check_base_model() -> CheckResult:
    """The base model resolves on this machine, without loading it (the engine loads it on first use)."""
    from inference.base_model import locate_base_model

    info = locate_base_model(settings.MODELFACTORY_BASE_MODEL)
    return CheckResult("base_model", True, f"{info.architecture} at {info.path}", data=info.as_dict())


READINESS_CHECKS: tuple[Callable[[], CheckResult], ...] = (check_database, check_migrations, check_base_model)
"""What one web replica needs to answer: its database (schema included) and its model. Not the chain,
the broker or the workers: they are shared by every replica, so their outage is no reason to take this
one out of a load balancer (/healthz and /status/ report them)."""


def readiness() -> dict:
    """Whether this replica can serve now, checked afresh each call (three cheap local reads).

    /readyz shows anyone only which check failed; the reason is logged, once per change, for the
    operator (a probe every few seconds would otherwise repeat it all day).
    """
    global _was_ready
    results = [run_check(check) for check in READINESS_CHECKS]
    ready = all(r.ok for r in results)
    if ready != _was_ready:
        if ready:
            logger.info("readiness: this replica is ready")
        else:
            reasons = "; ".join(f"{r.name}: {r.detail}" for r in results if not r.ok)
            logger.warning("readiness: this replica is not ready: %s", reasons)
        _was_ready = ready
    return {
        "status": "ready" if ready else "not ready",
        "checked_at": timezone.now().isoformat(),
        "checks": {r.name: r.as_dict() for r in results},
    }


_was_ready: bool | None = None


CHECKS: tuple[Callable[[], CheckResult], ...] = (
    check_database,
    check_broker,
    check_chain,
    check_engine,
    check_workers,
    check_scheduler,
)


def run_check(check: Callable[[], CheckResult]) -> CheckResult:
    name = check.__name__.removeprefix("check_")
    started = time.perf_counter()
    try:
        result = check()
    except Exception as error:  # a check reports failure, it never takes the page down
        result = CheckResult(name, False, f"{type(error).__name__}: {error}")
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    return CheckResult(result.name, result.ok, result.detail, latency_ms, result.data)


_last_report: tuple[float, dict] | None = None
_last_report_lock = threading.Lock()


def platform_health() -> dict:
    """Every part's state, reused for MODELFACTORY_HEALTH_CACHE_S seconds.

    A load balancer polls each replica every few seconds and anyone may open the status page; without
    the reuse each hit would query the database, the broker and the chain again.
    """
    global _last_report
    ttl = settings.MODELFACTORY_HEALTH_CACHE_S
    with _last_report_lock:
        if ttl > 0 and _last_report is not None and time.monotonic() - _last_report[0] < ttl:
            return _last_report[1]
    results = [run_check(check) for check in CHECKS]
    report = {
        "status": "ok" if all(r.ok for r in results) else "degraded",
        "checked_at": timezone.now().isoformat(),
        "checks": {r.name: r.as_dict() for r in results},
    }
    with _last_report_lock:
        _last_report = (time.monotonic(), report)
    return report


def public_health(report: dict) -> dict:
    """What anyone may see: each part up or down and how fast it answered. The details (error text,
    which can name a chain RPC URL with its provider key, worker names, model paths) are for staff."""
    return {
        "status": report["status"],
        "checked_at": report["checked_at"],
        "checks": {
            name: {"name": name, "ok": check["ok"], "latency_ms": check["latency_ms"]}
            for name, check in report["checks"].items()
        },
    }
