"""Several web replicas behind HAProxy: each model's answers go to one replica (its adapters stay in that
replica's memory), other traffic is spread, and a dead replica's models move to the others."""

from __future__ import annotations

import shutil
import subprocess

import httpx
import pytest
from django.db import connection

from modelfactory.api.services import api_key_create
from modelfactory.catalog.services import base_model_register
from modelfactory.routing.haproxy_config import Replica, haproxy_config
from tests.support.factories import make_user
from tests.support.funding import fund
from tests.support.processes import VENV_BIN, start, stop, wait_until
from tests.support.services import POSTGRES, free_port, require_tcp

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("haproxy") is None, reason="haproxy is not installed (make test installs it)"
    ),
]
MODELS = [f"tiny-{letter}" for letter in "abcdefgh"]


def answering(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def cluster(tmp_path, use_tiny_base_model):
    """Two uvicorn replicas on the test database, each with its own engine, and HAProxy in front."""
    require_tcp("PostgreSQL", *POSTGRES)
    assert connection.vendor == "postgresql", "replicas can only share a PostgreSQL test database"
    for name in MODELS:  # one base model under eight names: eight models to route, one engine's weights
        base_model_register(name=name, source=str(use_tiny_base_model), make_default=name == MODELS[0])
    user = make_user("router")
    fund(user)
    secret = api_key_create(user=user, name="routing", rate_limit_per_minute=100_000)[1]
    database = connection.settings_dict["NAME"]
    env = {
        "DATABASE_URL": f"postgres://postgres@{POSTGRES[0]}:{POSTGRES[1]}/{database}",
        "MODELFACTORY_BASE_MODEL": str(use_tiny_base_model),
        "MODELFACTORY_USER_REQUESTS_PER_MINUTE": "100000",
    }
    replicas = [Replica(f"web{i}", f"127.0.0.1:{free_port()}") for i in (1, 2)]
    servers = {
        replica.name: start(
            [
                str(VENV_BIN / "uvicorn"),
                "modelfactory.asgi:application",
                "--port",
                replica.address.split(":")[1],
            ],
            env=env,
            log=tmp_path / f"{replica.name}.log",
        )
        for replica in replicas
    }
    port = free_port()
    proxies: list[subprocess.Popen] = []

    def route(balance: str) -> str:
        for proxy in proxies:
            stop(proxy)
        config = tmp_path / f"haproxy-{balance}.cfg"
        config.write_text(
            haproxy_config(
                replicas, bind=f"127.0.0.1:{port}", balance=balance, check_interval_ms=300, tag_replica=True
            )
        )
        proxies.append(start(["haproxy", "-db", "-f", str(config)], log=tmp_path / "haproxy.log"))
        wait_until(lambda: answering(f"http://127.0.0.1:{port}/livez"), timeout_s=30, what="haproxy")
        return f"http://127.0.0.1:{port}"

    try:
        for replica in replicas:
            wait_until(
                lambda r=replica: answering(f"http://{r.address}/readyz"), timeout_s=120, what=replica.name
            )
        yield route, servers, secret
    finally:
        for process in [*proxies, *servers.values()]:
            stop(process)


def ask(base_url: str, secret: str, model: str) -> httpx.Response:
    return httpx.post(
        f"{base_url}/v1/completions",
        headers={"Authorization": f"Bearer {secret}", "Connection": "close"},
        json={"model": model, "prompt": "Once", "max_tokens": 2},
        timeout=60,
    )


def test_each_models_answers_go_to_one_replica_and_move_when_it_dies(cluster):
    route, servers, secret = cluster
    base_url = route("consistent")
    wait_until(
        lambda: ask(base_url, secret, MODELS[0]).status_code == 200, timeout_s=60, what="a first answer"
    )

    served = {
        model: {ask(base_url, secret, model).headers["x-served-by"] for _ in range(3)} for model in MODELS
    }
    pages = {httpx.get(f"{base_url}/livez", timeout=5).headers.get("x-served-by") for _ in range(6)}

    assert all(len(replicas) == 1 for replicas in served.values()), served  # affinity
    owners = {model: replicas.pop() for model, replicas in served.items()}
    assert set(owners.values()) == {"web1", "web2"}, owners  # eight models spread over both
    assert pages == {"web1", "web2"}  # other traffic round robin

    stop(servers["web2"])
    moved = [model for model, owner in owners.items() if owner == "web2"]
    after = {model: ask(base_url, secret, model) for model in moved}
    assert {response.status_code for response in after.values()} == {200}
    assert {response.headers["x-served-by"] for response in after.values()} == {"web1"}

    stop(servers["web1"])
    wait_until(lambda: ask(base_url, secret, MODELS[0]).status_code == 503, timeout_s=10, what="no replica")
    none_left = ask(base_url, secret, MODELS[0])
    assert none_left.json()["error"]["code"] == "no_replica_available"  # OpenAI's shape, from HAProxy


def test_round_robin_spreads_one_models_answers_over_every_replica(cluster):
    route, _, secret = cluster
    base_url = route("roundrobin")
    wait_until(
        lambda: ask(base_url, secret, MODELS[0]).status_code == 200, timeout_s=60, what="a first answer"
    )

    served = {ask(base_url, secret, MODELS[0]).headers["x-served-by"] for _ in range(6)}

    assert served == {"web1", "web2"}
