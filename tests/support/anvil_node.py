"""A real anvil node for a test: on a free port, optionally keeping its state in a file across restarts."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from contracts.development_accounts import DEVELOPMENT_ACCOUNT_COUNT
from tests.support.processes import ANVIL, start, stop, wait_until
from tests.support.services import unavailable


def _answers(rpc_url: str) -> bool:
    try:
        response = httpx.post(rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}, timeout=1)
        return response.status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def running_anvil(
    port: int, *, log: Path, state_file: Path | None = None, accounts: int = DEVELOPMENT_ACCOUNT_COUNT
) -> Iterator[str]:
    """Start anvil, yield its RPC URL, stop it with SIGTERM (on which anvil writes `state_file`).

    With as many funded development accounts as the Procfile's anvil (64), so the demo contributors'
    accounts (10 onwards) have gas to claim with, as in `make run`."""
    if not ANVIL.exists():
        unavailable("node_modules/.bin/anvil is missing: run `make setup` (npm install)")
    command = [
        str(ANVIL),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--accounts",
        str(accounts),
        "--silent",
    ]
    if state_file is not None:
        command += ["--state", str(state_file)]
    process: subprocess.Popen = start(command, log=log)
    rpc_url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(rpc_url), timeout_s=20, what=f"anvil on {rpc_url}")
        yield rpc_url
    finally:
        stop(process)
