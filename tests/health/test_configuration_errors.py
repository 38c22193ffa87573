"""A missing or malformed setting stops start-up with one clear line naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.processes import REPO


def start_up(**overrides: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("variable", "value", "mentions"),
    [
        ("DATABASE_URL", "mysql://root@localhost/x", "expected postgres://"),
        ("DATABASE_URL", "not a url", "DATABASE_URL"),
        ("CELERY_BROKER_URL", "nonsense", "expected one of redis"),
        ("CHAIN_RPC_URL", "localhost:8545", "expected one of http"),
        ("DEBUG", "perhaps", "not a boolean"),
        ("MODELFACTORY_WORKER_STALE_AFTER_S", "soon", "not an integer"),
        ("MODELFACTORY_ENV", "staging", "not one of development, production, test"),
    ],
)
def test_malformed_setting_stops_start_up_with_one_line_naming_it(variable, value, mentions):
    result = start_up(**{variable: value})

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert mentions in lines[0]


def test_production_without_a_secret_key_refuses_to_start_and_says_which_variable():
    result = start_up(MODELFACTORY_ENV="production", DATABASE_URL="postgres://u@db:5432/mf")

    assert result.returncode == 2
    assert result.stderr.strip() == (
        "modelfactory: configuration error: "
        "SECRET_KEY is required when MODELFACTORY_ENV=production but is not set"
    )


def test_production_without_an_operator_key_refuses_to_start():
    result = start_up(
        MODELFACTORY_ENV="production",
        SECRET_KEY="x" * 50,
        DATABASE_URL="postgres://u@db:5432/mf",
        CELERY_BROKER_URL="redis://r:6379/0",
        CHAIN_RPC_URL="https://rpc.example",
        ALLOWED_HOSTS="mf.example",
        CHAIN_ID="8453",
    )

    assert result.returncode == 2
    assert "CHAIN_OPERATOR_KEY" in result.stderr


PRODUCTION = {
    "MODELFACTORY_ENV": "production",
    "SECRET_KEY": "x" * 50,
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/modelfactory",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "CHAIN_RPC_URL": "http://127.0.0.1:8545",
    "ALLOWED_HOSTS": "modelfactory.example",
    "CHAIN_ID": "8453",
    "MODELFACTORY_PLATFORM_WALLET": "0x" + "a1" * 20,
    "MODELFACTORY_OPERATOR_WALLET": "0x" + "b2" * 20,
}
"""Every variable production requires, but the operator key (which only signing processes need)."""


def test_production_with_every_required_variable_starts():
    result = start_up(**PRODUCTION, CHAIN_OPERATOR_KEY="0x" + "11" * 32)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_a_production_process_that_never_signs_starts_without_the_operator_key():
    result = start_up(**PRODUCTION, MODELFACTORY_SIGNS_ON_CHAIN="0")

    assert result.returncode == 0, result.stderr
