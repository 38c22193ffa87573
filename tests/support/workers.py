"""A real Celery worker process on the real Redis broker, sharing the PostgreSQL test database.

Tests that use it run with `transaction=True`, so what the test writes is committed and visible to
the worker, and what the worker writes is visible to the test.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from django.db import connection

from tests.support.processes import VENV_BIN, start, stop
from tests.support.services import POSTGRES, require_tcp


@contextlib.contextmanager
def celery_worker(
    redis_url: str,
    log: Path,
    *,
    queues: str = "default",
    name: str = "test",
    pool: str = "solo",
    concurrency: int | None = None,
    env: dict[str, str] | None = None,
) -> Iterator:
    require_tcp("PostgreSQL", *POSTGRES)
    assert connection.vendor == "postgresql", "a worker process can only share a PostgreSQL test database"
    database = connection.settings_dict["NAME"]
    process = start(
        [
            str(VENV_BIN / "celery"),
            "-A",
            "modelfactory",
            "worker",
            "--queues",
            queues,
            "--pool",
            pool,
            "--hostname",
            f"{name}@%h",
            "--loglevel",
            "INFO",
            "--without-mingle",
            "--without-gossip",
            *(["--concurrency", str(concurrency)] if concurrency else []),
        ],
        env={
            "DATABASE_URL": f"postgres://postgres@{POSTGRES[0]}:{POSTGRES[1]}/{database}",
            "CELERY_BROKER_URL": redis_url,
            "MODELFACTORY_WORKER_HEARTBEAT_S": "1",
            **(env or {}),
        },
        log=log,
    )
    try:
        yield process
    finally:
        stop(process)


def pool_processes(worker) -> list[int]:
    """The pids of a prefork worker's pool processes (the children of its main process), from /proc."""
    children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def worker_log(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"


@contextlib.contextmanager
def app_broker(url: str) -> Iterator[None]:
    """Point this process's Celery app at `url`, dropping pooled connections to the old broker.

    Setting `broker_url` alone is not enough once a test has sent a message: the app keeps its
    connection and producer pools, and would go on publishing to the previous broker.
    """
    from modelfactory.celery import app

    def reset() -> None:
        from kombu import pools

        pools.reset()  # closes pooled connections and empties kombu's global registries
        app._pool = None
        app.amqp._producer_pool = None
        app.set_current()  # shared tasks publish through current_app, which another test may have replaced

    previous = app.conf.broker_url
    app.conf.broker_url = url
    reset()
    try:
        yield
    finally:
        app.conf.broker_url = previous
        reset()


def queued_messages(queue: str) -> list[dict]:
    """What waits in the (in-memory) broker's queue, read off it."""
    from modelfactory.celery import app

    messages = []
    with app.connection_for_write() as connection:
        simple = connection.SimpleQueue(queue)
        while True:
            try:
                message = simple.get(timeout=0.2)
            except simple.Empty:
                return messages
            messages.append({"task": message.headers["task"], "args": message.headers["argsrepr"]})
            message.ack()
