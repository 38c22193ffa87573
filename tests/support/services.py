"""Skip-or-require for the real services the suite talks to.

Locally, a test whose service is not running skips with the reason; in CI
(MF_REQUIRE_SERVICES=1 / MF_REQUIRE_BROWSER=1) the same situation fails the run, so a green CI
always means the real thing was exercised.
"""

from __future__ import annotations

import os
import socket

import pytest

from modelfactory.settings.reachability import tcp_reachable

POSTGRES = ("127.0.0.1", 5432)
REDIS = ("127.0.0.1", 6379)


def unavailable(reason: str, *, flag: str = "MF_REQUIRE_SERVICES") -> None:
    if os.environ.get(flag) == "1":
        pytest.fail(f"{flag}=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def require_tcp(name: str, host: str, port: int) -> None:
    if not tcp_reachable(host, port):
        unavailable(f"{name} is not reachable at {host}:{port}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
