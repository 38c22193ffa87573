"""/livez says the process answers; /readyz says this replica can serve, whatever the shared parts do."""

from __future__ import annotations

import pytest
from django.db import connection

from modelfactory.health import checks
from tests.support.services import free_port

pytestmark = pytest.mark.django_db


def test_livez_answers_without_asking_anything_else(client, django_assert_num_queries, settings):
    settings.CHAIN_RPC_URL = f"http://127.0.0.1:{free_port()}"
    settings.MODELFACTORY_BASE_MODEL = "/nowhere"

    with django_assert_num_queries(0):
        response = client.get("/livez")

    assert response.status_code == 200
    assert response.json() == {"status": "alive"}
    assert "no-cache" in response["Cache-Control"]


def test_readyz_is_ready_with_a_migrated_database_and_the_base_model_on_disk(client, use_tiny_base_model):
    response = client.get("/readyz")

    report = response.json()
    assert response.status_code == 200, report
    assert report["status"] == "ready"
    assert set(report["checks"]) == {"database", "migrations", "base_model"}


def test_readyz_stays_ready_when_the_chain_and_the_workers_are_down(client, settings, use_tiny_base_model):
    """A replica is not unhealthy because a part every replica shares is: taking them all out of the load
    balancer would turn a chain outage into a site outage."""
    settings.CHAIN_RPC_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens; no worker heartbeats either

    assert client.get("/healthz").status_code == 503
    assert client.get("/readyz").status_code == 200


def test_readyz_is_not_ready_without_the_base_model_and_says_which_check_failed(client, settings, tmp_path):
    settings.MODELFACTORY_BASE_MODEL = str(tmp_path / "nowhere")

    response = client.get("/readyz")

    assert response.status_code == 503
    report = response.json()
    assert report["status"] == "not ready"
    assert report["checks"]["base_model"]["ok"] is False
    assert report["checks"]["database"]["ok"] is True
    assert "detail" not in report["checks"]["base_model"]  # the reason (a path) is logged, not shown


def test_readyz_logs_why_once_when_the_replica_stops_being_ready(
    client, settings, tmp_path, caplog, monkeypatch
):
    settings.MODELFACTORY_BASE_MODEL = str(tmp_path / "nowhere")
    monkeypatch.setattr(checks, "_was_ready", True)

    with caplog.at_level("INFO", logger="modelfactory.health.checks"):
        client.get("/readyz")
        client.get("/readyz")

    reasons = [r.getMessage() for r in caplog.records if r.name == "modelfactory.health.checks"]
    assert len(reasons) == 1
    assert "base_model" in reasons[0]
    assert "nowhere" in reasons[0]


def test_readyz_is_not_ready_while_a_migration_is_unapplied(client, use_tiny_base_model, monkeypatch):
    """A new release's replica that starts before `migrate` ran must not take traffic."""
    from django.db.migrations.recorder import MigrationRecorder

    monkeypatch.setattr(checks, "_migrations_applied", False)
    latest = MigrationRecorder(connection).migration_qs.filter(app="health").order_by("-id").first()
    latest.delete()  # rolled back with the test's transaction

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["migrations"]["ok"] is False


def test_readyz_reads_the_migrations_until_they_are_found_applied_then_trusts_that(
    client, use_tiny_base_model, monkeypatch, django_assert_max_num_queries
):
    monkeypatch.setattr(checks, "_migrations_applied", False)
    client.get("/readyz")

    with django_assert_max_num_queries(1):  # SELECT 1: the migration table is not read again
        assert client.get("/readyz").status_code == 200
