"""With MODELFACTORY_LOG_FORMAT=json every log line is one JSON object that says which request or task
wrote it: a real uvicorn serving a real API request, and a real Celery worker running a real task."""

from __future__ import annotations

import io
import json
import logging
import sys
from pathlib import Path

import httpx
import pytest
from celery import Celery
from django.db import connection
from django.test import AsyncClient

from modelfactory.api.services import api_key_create
from modelfactory.health.models import Heartbeat
from modelfactory.observability import log_context
from modelfactory.observability.json_logs import JsonFormatter
from modelfactory.serving import engine_runtime
from tests.finetuning.jobs_support import register_tiny
from tests.support.asgi_calls import run_async_in_own_thread
from tests.support.factories import make_user
from tests.support.funding import fund
from tests.support.processes import VENV_BIN, start, stop, wait_until
from tests.support.services import POSTGRES, free_port, require_tcp
from tests.support.workers import celery_worker, worker_log


def json_lines(log: Path) -> list[dict]:
    lines = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def test_a_record_is_one_json_line_with_the_context_and_its_extra_fields():
    record = logging.LogRecord("modelfactory.api", logging.ERROR, __file__, 1, "failed: %s", ("boom",), None)
    record.route = "api:completions"
    try:
        raise ValueError("line one\nline two")
    except ValueError:
        record.exc_info = sys.exc_info()
    token = log_context.begin(request_id="req_abc", user_id=7)
    try:
        line = JsonFormatter().format(record)
    finally:
        log_context.end(token)

    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "failed: boom"
    assert entry["level"] == "ERROR"
    assert entry["logger"] == "modelfactory.api"
    assert entry["timestamp"].endswith("+00:00")
    assert (entry["request_id"], entry["user_id"], entry["route"]) == ("req_abc", 7, "api:completions")
    assert "line two" in entry["exception"]


@pytest.mark.django_db(transaction=True)
def test_under_asgi_an_answers_own_log_line_carries_its_request_id_user_and_model(use_tiny_base_model):
    """The async path: the view binds the user and the model, and the answer's accounting line, written in
    a thread of its own, still carries them, as does the request line the middleware writes at the end."""
    register_tiny(use_tiny_base_model)
    user = make_user("asker")
    fund(user)
    secret = api_key_create(user=user, name="logs")[1]
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonFormatter())
    loggers = [logging.getLogger(name) for name in ("modelfactory.api.answers", "modelfactory.http")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)

    async def ask():
        return await AsyncClient().post(
            "/v1/completions",
            {"model": "tiny-base", "prompt": "Hello", "max_tokens": 3},
            content_type="application/json",
            headers={"Authorization": f"Bearer {secret}"},
        )

    try:
        response = run_async_in_own_thread(ask)
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)
        engine_runtime.shutdown()

    assert response.status_code == 200, response.content
    entries = [json.loads(line) for line in lines.getvalue().splitlines()]
    answered = next(entry for entry in entries if entry["message"].startswith("answered"))
    request_line = next(entry for entry in entries if entry["logger"] == "modelfactory.http")
    for entry in (answered, request_line):
        assert entry["request_id"] == response["x-request-id"]
        assert entry["user_id"] == user.pk
        assert entry["model"] == "tiny-base"
    assert request_line["receipt_id"] == response["X-Attribution-Receipt"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.services
@pytest.mark.slow
def test_the_json_lines_of_a_real_api_request_carry_its_request_id_and_user(tmp_path):
    require_tcp("PostgreSQL", *POSTGRES)
    assert connection.vendor == "postgresql", "uvicorn can only share a PostgreSQL test database"
    user = make_user("logged")
    secret = api_key_create(user=user, name="logs")[1]
    port, log = free_port(), tmp_path / "web.log"
    database = connection.settings_dict["NAME"]
    server = start(
        [str(VENV_BIN / "uvicorn"), "modelfactory.asgi:application", "--port", str(port), "--no-access-log"],
        env={
            "DATABASE_URL": f"postgres://postgres@{POSTGRES[0]}:{POSTGRES[1]}/{database}",
            "MODELFACTORY_LOG_FORMAT": "json",
        },
        log=log,
    )
    try:

        def answering() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/livez", timeout=2).status_code == 200
            except httpx.HTTPError:
                return server.poll() is None and False

        wait_until(answering, timeout_s=90, what="uvicorn to answer")
        response = httpx.get(
            f"http://127.0.0.1:{port}/v1/models", headers={"Authorization": f"Bearer {secret}"}, timeout=30
        )
        assert response.status_code == 200, response.text
    finally:
        stop(server)

    request_id = response.headers["x-request-id"]
    lines = json_lines(log)
    assert any(line["logger"].startswith("uvicorn") for line in lines), "uvicorn's own lines are JSON too"
    mine = [line for line in lines if line.get("request_id") == request_id]
    assert mine, log.read_text()[-3000:]
    request_line = next(line for line in mine if line["logger"] == "modelfactory.http")
    assert request_line["route"] == "api:models"
    assert request_line["status"] == 200
    assert request_line["user_id"] == user.pk
    assert request_line["message"].startswith("GET /v1/models 200 in ")
    assert set(request_line) >= {"timestamp", "level", "logger", "message"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.services
def test_a_celery_workers_json_lines_carry_the_task_id_and_name(redis_url, tmp_path):
    log = tmp_path / "worker.log"
    with celery_worker(redis_url, log, name="json-logs", env={"MODELFACTORY_LOG_FORMAT": "json"}) as worker:
        with Celery(broker=redis_url, set_as_current=False) as producer:
            sent = producer.send_task("modelfactory.health.tasks.record_pipeline_heartbeat", queue="default")
        wait_until(
            lambda: Heartbeat.objects.filter(kind=Heartbeat.Kind.PIPELINE).exists(),
            timeout_s=60,
            what="the task to run",
        )
        assert stop(worker) == 0, worker_log(log)

    in_the_task = [line for line in json_lines(log) if line.get("task_id") == sent.id]
    assert in_the_task, worker_log(log)
    assert {line["task_name"] for line in in_the_task} == {
        "modelfactory.health.tasks.record_pipeline_heartbeat"
    }
    assert any("succeeded" in line["message"] for line in in_the_task)
