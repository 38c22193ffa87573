"""Playwright driving Debian's chromium: no browser download works on these machines."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field

CHROMIUM = os.environ.get("MF_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags chromium floods a closed network with connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    return shutil.which("chromium")


@dataclass
class ConsoleLog:
    """Everything a page complained about: console errors, uncaught exceptions, failed requests."""

    errors: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)

    def expect(self, fragment: str) -> None:
        """Declare an error the test provokes on purpose (a 403 page, say); others still fail it."""
        self.expected.append(fragment)

    def unexpected(self) -> list[str]:
        return [error for error in self.errors if not any(fragment in error for fragment in self.expected)]

    def attach(self, page) -> None:
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        # A navigation (or a download) aborts the requests still in flight: that is not a failure.
        # Real failures still show: refused connections here, HTTP errors in the response hook below.
        page.on(
            "requestfailed",
            lambda request: (
                request.failure != "net::ERR_ABORTED"
                and self.errors.append(f"request failed: {request.url} ({request.failure})")
            ),
        )
        page.on(
            "response",
            lambda response: (
                response.status >= 400 and self.errors.append(f"HTTP {response.status}: {response.url}")
            ),
        )


def log_in(page, live_server, username: str, password: str = "pw") -> None:
    """Log in through the real form, as a person would, and land on the home page."""
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server.url + "/")
