"""A real Celery worker on the real Redis broker and PostgreSQL: the production topology."""

from __future__ import annotations

import pytest
import redis
from celery import Celery
from django.db import connection

from modelfactory.health.models import Heartbeat
from tests.support.processes import VENV_BIN, start, stop, wait_until
from tests.support.services import POSTGRES, require_tcp

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


@pytest.fixture
def worker_on_redis(redis_url, tmp_path):
    require_tcp("PostgreSQL", *POSTGRES)
    assert connection.vendor == "postgresql", "this test shares the PostgreSQL test database with a worker"
    redis.Redis.from_url(redis_url).flushdb()
    database = connection.settings_dict["NAME"]
    process = start(
        [
            str(VENV_BIN / "celery"),
            "-A",
            "modelfactory",
            "worker",
            "--queues",
            "default",
            "--concurrency",
            "1",
            "--hostname",
            "redis-test@%h",
            "--loglevel",
            "INFO",
            "--without-mingle",
            "--without-gossip",
        ],
        env={
            "DATABASE_URL": f"postgres://postgres@{POSTGRES[0]}:{POSTGRES[1]}/{database}",
            "CELERY_BROKER_URL": redis_url,
            "MODELFACTORY_WORKER_HEARTBEAT_S": "1",
        },
        log=tmp_path / "worker.log",
    )
    yield process
    stop(process)


def _log(tmp_path) -> str:
    return (tmp_path / "worker.log").read_text(errors="replace")[-3000:]


def test_worker_on_redis_reports_its_heartbeat_runs_tasks_and_signs_off_on_shutdown(
    worker_on_redis, redis_url, tmp_path
):
    def worker_seen() -> bool:
        return Heartbeat.objects.filter(kind=Heartbeat.Kind.WORKER, name__startswith="redis-test@").exists()

    try:
        wait_until(worker_seen, timeout_s=60, what="the worker's heartbeat")
    except TimeoutError:
        pytest.fail(f"no heartbeat; worker log:\n{_log(tmp_path)}")
    heartbeat = Heartbeat.objects.get(kind=Heartbeat.Kind.WORKER, name__startswith="redis-test@")
    assert heartbeat.detail["queues"] == ["default"]

    with Celery(broker=redis_url) as producer:
        producer.send_task("modelfactory.health.tasks.record_pipeline_heartbeat", queue="default")
    wait_until(
        lambda: Heartbeat.objects.filter(kind=Heartbeat.Kind.PIPELINE).exists(),
        timeout_s=30,
        what="the task to run on the worker",
    )

    assert stop(worker_on_redis) == 0, _log(tmp_path)
    assert not Heartbeat.objects.filter(kind=Heartbeat.Kind.WORKER, name__startswith="redis-test@").exists()
