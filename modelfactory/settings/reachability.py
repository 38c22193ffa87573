"""A TCP probe used by settings and tests to tell whether a real service is running."""

from __future__ import annotations

import socket


def tcp_reachable(host: str, port: int, timeout_s: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False
