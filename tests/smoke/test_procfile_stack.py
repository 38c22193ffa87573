"""The whole `make run` stack (web, workers, beat, chain node) comes up green and stops cleanly."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys

import httpx
import pytest

from tests.support.processes import REPO, VENV_BIN, start, stop, wait_until
from tests.support.services import free_port

pytestmark = pytest.mark.slow


def test_procfile_stack_reaches_all_green_healthz_and_stops_cleanly(tmp_path, tiny_base_model):
    web_port, chain_port = free_port(), free_port()
    env = {
        "MODELFACTORY_VAR_DIR": str(tmp_path / "var"),
        "MODELFACTORY_BASE_MODEL": str(tiny_base_model),
        "MF_WEB_PORT": str(web_port),
        "MF_CHAIN_PORT": str(chain_port),
        "CHAIN_RPC_URL": f"http://127.0.0.1:{chain_port}",
        "MODELFACTORY_WORKER_HEARTBEAT_S": "2",
        "DJANGO_SETTINGS_MODULE": "modelfactory.settings.base",
    }
    for variable in ("DATABASE_URL", "CELERY_BROKER_URL"):  # the embedded defaults are under test
        env[variable] = ""
    (tmp_path / "var").mkdir()
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=REPO,
        env={**_clean_env(), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrate.returncode == 0, migrate.stderr

    stack = start(
        [str(VENV_BIN / "python"), "-m", "modelfactory.procfile_supervisor", "start", "-f", "Procfile"],
        env=env,
        log=tmp_path / "stack.log",
    )
    healthz = f"http://127.0.0.1:{web_port}/healthz"

    def all_green() -> bool:
        try:
            return httpx.get(healthz, timeout=5).json().get("status") == "ok"
        except (httpx.HTTPError, ValueError):
            return False

    try:
        wait_until(all_green, timeout_s=120, interval_s=1, what="all-green /healthz")
        assert httpx.get(f"http://127.0.0.1:{web_port}/", timeout=5).status_code == 200
    except (TimeoutError, AssertionError):
        stop(stack)
        report = httpx.get(healthz, timeout=5).text if stack.poll() is None else "(stack stopped)"
        pytest.fail(f"stack never got green: {report}\n{(tmp_path / 'stack.log').read_text()[-4000:]}")

    stop(stack, timeout_s=30)  # raises DidNotStop if anything had to be killed
    log = (tmp_path / "stack.log").read_text()
    assert "sending SIGKILL" not in log, log[-3000:]
    # honcho reports each process as it stops; 0 or "ended by the SIGTERM it was sent" are clean.
    stopped = dict(re.findall(r"(\w+)\.1 stopped \(rc=(-?\d+)\)", log))
    assert set(stopped) == {
        "web",
        "worker",
        "trainer",
        "attribution",
        "beat",
        "chain",
        "contracts",
    }, log[-3000:]
    assert set(stopped.values()) <= {"0", "-15"}, stopped
    assert "Traceback" not in log, log[-4000:]
    assert (tmp_path / "var" / "chain" / "state.json").exists(), "the chain node must save its state on exit"
    # Each worker signed off as it stopped, so /status/ will not show a clean stop as a crash.
    with sqlite3.connect(tmp_path / "var" / "db.sqlite3") as database:
        left = database.execute("SELECT name FROM health_heartbeat WHERE kind = 'worker'").fetchall()
    assert left == [], left


def _clean_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE"}}
