"""Starting and stopping real processes (anvil, Celery workers, the Procfile stack) in tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv" / "bin"
ANVIL = REPO / "node_modules" / ".bin" / "anvil"


def wait_until(
    predicate: Callable[[], bool], *, timeout_s: float, interval_s: float = 0.25, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval_s)
    raise TimeoutError(f"{what} did not hold within {timeout_s:.0f} s")


def start(command: list[str], *, env: dict[str, str] | None = None, log: Path) -> subprocess.Popen:
    """Start a process in its own group, so stopping it stops its children too."""
    handle = log.open("wb")
    return subprocess.Popen(
        command,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


class DidNotStop(Exception):
    """The process ignored SIGTERM for the whole grace period and had to be killed."""


def stop(process: subprocess.Popen, *, timeout_s: float = 20) -> int:
    """SIGTERM the process as a supervisor would, and let it stop its own children.

    Whatever of its group is left after the grace period is SIGKILLed and `DidNotStop` raised,
    so a test never leaves processes behind and never mistakes a kill for a clean stop.
    """
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)
            process.wait(timeout=5)
            raise DidNotStop(f"{process.args[0]} did not stop within {timeout_s:.0f} s of SIGTERM") from None
    # Children may outlive the leader for a moment (anvil's npm wrapper exits before the real node has
    # finished writing its state file): let them finish, then kill only true stragglers.
    _wait_group_gone(process.pid, timeout_s=10)
    _kill_group(process.pid)  # never leak processes into the next test
    return process.returncode


def _wait_group_gone(pgid: int, *, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
