"""A real Celery worker on the real Redis broker and PostgreSQL: the production topology."""

from __future__ import annotations

import pytest
from celery import Celery

from modelfactory.health.models import Heartbeat
from tests.support.processes import stop, wait_until
from tests.support.workers import celery_worker, worker_log

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


def test_worker_on_redis_reports_its_heartbeat_runs_tasks_and_signs_off_on_shutdown(redis_url, tmp_path):
    log = tmp_path / "worker.log"
    with celery_worker(redis_url, log, name="redis-test", pool="threads") as worker:

        def worker_seen() -> bool:
            return Heartbeat.objects.filter(
                kind=Heartbeat.Kind.WORKER, name__startswith="redis-test@"
            ).exists()

        try:
            wait_until(worker_seen, timeout_s=60, what="the worker's heartbeat")
        except TimeoutError:
            pytest.fail(f"no heartbeat; worker log:\n{worker_log(log)}")
        heartbeat = Heartbeat.objects.get(kind=Heartbeat.Kind.WORKER, name__startswith="redis-test@")
        assert heartbeat.detail["queues"] == ["default"]

        # not set as current: the closed app would stay current_app, and shared tasks would publish
        # through its closed pools for the rest of the test session
        with Celery(broker=redis_url, set_as_current=False) as producer:
            producer.send_task("modelfactory.health.tasks.record_pipeline_heartbeat", queue="default")
        wait_until(
            lambda: Heartbeat.objects.filter(kind=Heartbeat.Kind.PIPELINE).exists(),
            timeout_s=30,
            what="the task to run on the worker",
        )

        assert stop(worker) == 0, worker_log(log)
    assert not Heartbeat.objects.filter(kind=Heartbeat.Kind.WORKER, name__startswith="redis-test@").exists()
