"""/healthz tells, part by part, whether the platform works, and why not when it does not."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from modelfactory.accounts.models import User
from modelfactory.health.models import Heartbeat
from modelfactory.health.services import heartbeat_record
from tests.support.anvil_node import running_anvil
from tests.support.factories import make_user
from tests.support.services import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def anvil_rpc(settings, tmp_path):
    with running_anvil(free_port(), log=tmp_path / "anvil.log") as url:
        settings.CHAIN_RPC_URL = url
        yield url


@pytest.fixture
def staff(client):
    """The checks' details are staff-only; most tests here read them."""
    client.force_login(make_user("operator"))
    User.objects.filter(username="operator").update(is_staff=True)


@pytest.fixture
def live_workers():
    heartbeat_record(kind=Heartbeat.Kind.WORKER, name="default@test", detail={"queues": ["default"]})
    heartbeat_record(kind=Heartbeat.Kind.PIPELINE, name="pipeline")


def test_healthz_is_green_when_every_part_answers(
    client, staff, anvil_rpc, use_tiny_base_model, live_workers
):
    response = client.get("/healthz")

    report = response.json()
    assert response.status_code == 200, report
    assert report["status"] == "ok"
    assert set(report["checks"]) == {"database", "broker", "chain", "engine", "workers", "scheduler"}
    assert report["checks"]["chain"]["data"]["chain_id"] == 31337
    assert report["checks"]["engine"]["data"]["architecture"] == "LlamaForCausalLM"


def test_healthz_names_the_chain_url_to_staff_when_the_node_is_down(
    client, staff, settings, use_tiny_base_model, live_workers
):
    settings.CHAIN_RPC_URL = f"http://127.0.0.1:{free_port()}"

    response = client.get("/healthz")

    assert response.status_code == 503
    chain = response.json()["checks"]["chain"]
    assert chain["ok"] is False
    assert settings.CHAIN_RPC_URL in chain["detail"]


def test_healthz_explains_how_to_get_a_base_model_when_none_is_there(client, staff, settings, tmp_path):
    settings.MODELFACTORY_BASE_MODEL = str(tmp_path / "nowhere")

    engine = client.get("/healthz").json()["checks"]["engine"]

    assert engine["ok"] is False
    assert "make setup" in engine["detail"]


def test_a_worker_that_stopped_beating_is_reported_down(client, staff, settings):
    heartbeat_record(kind=Heartbeat.Kind.WORKER, name="trainer@gone")
    Heartbeat.objects.filter(name="trainer@gone").update(
        last_seen=timezone.now() - timedelta(seconds=settings.MODELFACTORY_WORKER_STALE_AFTER_S + 5)
    )

    workers = client.get("/healthz").json()["checks"]["workers"]

    assert workers["ok"] is False
    assert workers["data"]["stale"][0]["name"] == "trainer@gone"


def test_status_page_shows_a_badge_per_part(client, use_tiny_base_model):
    response = client.get("/status/")

    html = response.content.decode()
    assert response.status_code == 200
    for part in ("database", "broker", "chain", "engine", "workers", "scheduler"):
        assert f'data-testid="check-{part}"' in html


def test_status_page_refresh_returns_only_the_checks_fragment(client):
    response = client.get("/status/", headers={"HX-Request": "true"})

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="checks"')
    assert "<html" not in html


def test_a_queue_without_a_worker_is_named_but_does_not_turn_health_red(client, staff, live_workers):
    workers = client.get("/healthz").json()["checks"]["workers"]

    assert workers["ok"] is True
    assert workers["data"]["unserved_queues"] == ["attribution", "cpu", "settlement"]
    assert "no worker consumes attribution, cpu, settlement" in workers["detail"]


def test_anyone_sees_each_part_up_or_down_but_not_the_reasons(client, settings, live_workers):
    settings.CHAIN_RPC_URL = f"http://127.0.0.1:{free_port()}/v3/provider-key-0123456789"

    report = client.get("/healthz").json()
    page = client.get("/status/").content.decode()

    assert report["checks"]["chain"] == {
        "name": "chain",
        "ok": False,
        "latency_ms": report["checks"]["chain"]["latency_ms"],
    }
    assert "provider-key" not in str(report)
    assert "provider-key" not in page
    assert "default@test" not in str(report)  # worker names are details too
    assert "shown to staff" in page


def test_one_report_serves_every_probe_for_a_few_seconds(client, settings, staff):
    settings.MODELFACTORY_HEALTH_CACHE_S = 60
    first = client.get("/healthz").json()
    heartbeat_record(kind=Heartbeat.Kind.WORKER, name="late@test", detail={"queues": ["default"]})

    again = client.get("/healthz").json()
    settings.MODELFACTORY_HEALTH_CACHE_S = 0
    fresh = client.get("/healthz").json()

    assert again["checked_at"] == first["checked_at"]
    assert "late@test" not in str(again)
    assert "late@test" in str(fresh)
