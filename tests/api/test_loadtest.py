"""The load-test script runs against a live server, reports its numbers, and stays on this machine."""

from __future__ import annotations

import json

import pytest

from modelfactory.api import loadtest
from modelfactory.api.services import api_key_create
from tests.support.asgi_calls import run_in_own_thread

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_clients_for_three_seconds_report_no_errors_ttft_and_tokens_per_second(
    live_server, tiny_base, caller, tmp_path
):
    _, secret = api_key_create(user=caller, name="load", rate_limit_per_minute=10_000)
    report_path = tmp_path / "load.json"

    arguments = [
        "--base-url", live_server.url, "--api-key", secret, "--clients", "2", "--seconds", "3",
        "--max-tokens", "8", "--json", str(report_path),
    ]  # fmt: skip
    status = run_in_own_thread(lambda: loadtest.main(arguments))  # it runs its own event loop

    report = json.loads(report_path.read_text())
    assert status == 0, report["error_samples"]
    assert report["errors"] == 0
    assert report["requests"] >= 2
    assert report["ttft_ms"]["p50"] <= report["ttft_ms"]["p95"]
    assert report["tokens_per_s"] > 0


def test_the_load_test_refuses_a_server_that_is_not_on_this_machine():
    with pytest.raises(loadtest.NotLoopback):
        loadtest.loopback_only("http://192.0.2.1:8000")
