"""/metrics: Prometheus text for a scraper with the token or an allowed address, nothing for anyone else."""

from __future__ import annotations

import ipaddress

import pytest
from celery import Celery
from prometheus_client.parser import text_string_to_metric_families

from inference.sampling import SamplingParams
from modelfactory.catalog.adapter_import import module_shapes
from modelfactory.ledger.models import Epoch
from modelfactory.observability import collectors
from modelfactory.observability.metrics import FirstSeenLabels
from modelfactory.serving import engine_runtime
from tests.support.lora_files import random_pairs, write_adapter
from tests.support.services import free_port

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-0123456789abcdef"


def scrape(client, **request) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics", **request)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


@pytest.fixture
def engine_stopped_afterwards():
    """No engine left by an earlier test (its counters would be counted here), none left for a later one."""
    engine_runtime.shutdown()
    yield
    engine_runtime.shutdown()


# --- who may read them ----------------------------------------------------------------------------------
def test_a_scraper_on_this_machine_reads_the_metrics_by_default(client):
    samples = scrape(client)  # the test client's address is 127.0.0.1

    assert value(samples, "modelfactory_metrics_part_up", part="settlement") == 1
    assert value(samples, "process_resident_memory_bytes") > 0


def test_metrics_are_not_there_for_an_address_outside_the_allow_list(client, settings):
    """Existence-disclosure rule: the very response a URL that does not exist gets, body included."""
    settings.DEBUG = False

    refused = client.get("/metrics", REMOTE_ADDR="203.0.113.7")
    missing = client.get("/no-such-page", REMOTE_ADDR="203.0.113.7")

    assert refused.status_code == missing.status_code == 404
    assert refused.content == missing.content
    assert refused["Content-Type"] == missing["Content-Type"]


def test_the_bearer_token_opens_the_metrics_from_anywhere_and_a_wrong_one_does_not(client, settings):
    settings.MODELFACTORY_METRICS_TOKEN = TOKEN

    scrape(client, REMOTE_ADDR="203.0.113.7", headers={"Authorization": f"Bearer {TOKEN}"})
    wrong = client.get("/metrics", REMOTE_ADDR="203.0.113.7", headers={"Authorization": f"Bearer {TOKEN}x"})

    assert wrong.status_code == 404


def test_no_token_is_accepted_while_none_is_configured(client, settings):
    settings.MODELFACTORY_METRICS_TOKEN = ""

    response = client.get("/metrics", REMOTE_ADDR="203.0.113.7", headers={"Authorization": "Bearer "})

    assert response.status_code == 404


def test_the_allow_list_admits_its_networks_and_only_them(client, settings):
    settings.MODELFACTORY_METRICS_ALLOW = (ipaddress.ip_network("10.0.0.0/8"),)

    scrape(client, REMOTE_ADDR="10.20.30.40")
    assert client.get("/metrics", REMOTE_ADDR="::ffff:10.1.1.1").status_code == 200  # IPv4 over IPv6
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404
    assert client.get("/metrics", REMOTE_ADDR="not-an-address").status_code == 404


# --- HTTP -----------------------------------------------------------------------------------------------
def test_requests_are_counted_by_route_name_and_status_class_never_by_path(client):
    before = scrape(client)
    client.get("/v1/models/secret-model-name-1")  # no key: 401
    client.get("/v1/models/secret-model-name-2")
    client.get("/definitely/not/a/page")

    after = scrape(client)

    def grew(route: str, status: str) -> float:
        name = "modelfactory_http_requests_total"
        return value(after, name, route=route, status=status) - (
            value(before, name, route=route, status=status) or 0
        )

    assert grew("api:model", "4xx") == 2
    assert grew("unmatched", "4xx") == 1
    assert value(after, "modelfactory_http_request_duration_seconds_count", route="api:model", status="4xx")
    assert not [key for key in after if any("secret-model-name" in v for _, v in key[1])]


def test_every_response_carries_a_request_id(client):
    first, second = client.get("/livez"), client.get("/livez")

    assert first["x-request-id"].startswith("req_")
    assert first["x-request-id"] != second["x-request-id"]


def test_model_labels_are_bounded_first_seen_keep_theirs_and_the_rest_are_other():
    label = FirstSeenLabels(limit=2)

    assert [label(name) for name in ("a", "b", "c", "a", "d", "b")] == ["a", "b", "other", "a", "other", "b"]


# --- the engine -----------------------------------------------------------------------------------------
def test_a_scrape_never_starts_the_engine(client, use_tiny_base_model, engine_stopped_afterwards):
    samples = scrape(client)

    assert value(samples, "modelfactory_engine_started") == 0
    assert engine_runtime.engine_if_started() is None


def test_a_running_engine_reports_its_queue_tokens_latencies_and_adapter_tiers(
    client, use_tiny_base_model, engine_stopped_afterwards, tmp_path
):
    running = engine_runtime.engine()
    shapes = {
        module: shape
        for module, shape in module_shapes(str(use_tiny_base_model)).items()
        if module.endswith(("q_proj", "v_proj"))
    }
    adapter = write_adapter(tmp_path / "sums", random_pairs(shapes, rank=4, seed=1), rank=4, alpha=8)
    running.register_adapter("sums", adapter)
    running.generate([[1, 2, 3], [4, 5, 6]], adapter=["sums", None], sampling=SamplingParams(max_tokens=3))

    samples = scrape(client)

    assert value(samples, "modelfactory_engine_started") == 1
    assert value(samples, "modelfactory_engine_requests_total") == 2
    assert value(samples, "modelfactory_engine_requests_ended_total", outcome="finished") == 2
    assert value(samples, "modelfactory_engine_generated_tokens_total") == 6
    assert value(samples, "modelfactory_engine_queue_depth") == 0
    assert value(samples, "modelfactory_engine_time_to_first_token_seconds_count") == 2
    assert value(samples, "modelfactory_engine_time_to_first_token_seconds_bucket", le="+Inf") == 2
    assert value(samples, "modelfactory_engine_kv_blocks_total") > 0
    assert value(samples, "modelfactory_engine_adapter_disk_loads_total") == 1
    assert value(samples, "modelfactory_engine_adapters_resident", tier="device") == 1
    assert value(samples, "modelfactory_engine_adapter_disk_load_seconds_count") == 1
    assert value(samples, "modelfactory_engine_adapter_resident", adapter="sums", tier="device") == 1
    assert value(samples, "modelfactory_metrics_part_up", part="engine") == 1


class _EngineReporting:
    """An engine whose stats() is whatever the test gives: the collector's reading of them is the subject."""

    def __init__(self, stats: dict) -> None:
        self._stats = stats

    def stats(self) -> dict:
        return self._stats


def test_engine_stats_are_read_defensively_missing_figures_skipped_new_ones_exported(monkeypatch):
    stats = {
        "requests": 5,
        "queue_depth": 2,
        "time_to_first_token": {"count": 4, "sum_s": 0.5, "p50_s": 0.1, "p95_s": 0.2},
        "speculative_accepted": 17,  # a figure the engine gained after this collector was written
        "prefix_cache": {"hit_tokens": 30, "hit_rate": 0.25, "new_counter": 3},
        "adapters": {"device_resident": 1, "evictions": {"device:lru": 4}},
        "resident_adapters": {"host": [f"model-{i}@1" for i in range(25)]},
    }
    monkeypatch.setattr(engine_runtime, "_engine", _EngineReporting(stats))

    families = {family.name: family for family in collectors.engine_families(top_models=20)}

    assert families["modelfactory_engine_requests"].samples[0].value == 5
    assert families["modelfactory_engine_speculative_accepted"].samples[0].value == 17
    assert families["modelfactory_engine_prefix_cache_new_counter"].samples[0].value == 3
    assert families["modelfactory_engine_prefix_cache_hit_rate"].samples[0].value == 0.25
    ttft = {
        (s.name, s.labels.get("quantile")): s.value
        for s in families["modelfactory_engine_time_to_first_token_seconds"].samples
    }
    assert ttft[("modelfactory_engine_time_to_first_token_seconds", "0.95")] == 0.2
    assert ttft[("modelfactory_engine_time_to_first_token_seconds_count", None)] == 4
    evictions = families["modelfactory_engine_adapter_evictions"].samples
    assert [(s.labels, s.value) for s in evictions] == [({"tier": "device", "reason": "lru"}, 4)]
    resident = {
        s.labels["adapter"]: s.value for s in families["modelfactory_engine_adapter_resident"].samples
    }
    assert len(resident) == 21  # the 20 most recently used by name, and "other"
    assert resident["other"] == 5
    assert "model-24" in resident
    assert "model-0" not in resident
    assert "modelfactory_engine_kv_blocks_total" not in families  # not reported: not made up


# --- the Celery queues ------------------------------------------------------------------------------------
def _send(broker_url: str, queues: list[str]) -> None:
    # not set as current: shared tasks must keep publishing through the test settings' app
    with Celery(broker=broker_url, set_as_current=False) as producer:
        for queue in queues:
            producer.send_task("modelfactory.health.tasks.record_pipeline_heartbeat", queue=queue)


@pytest.mark.services
def test_queue_depths_are_read_from_the_redis_broker(client, settings, redis_url):
    settings.CELERY_BROKER_URL = redis_url
    _send(redis_url, ["cpu", "cpu", "settlement"])

    samples = scrape(client)

    assert value(samples, "modelfactory_celery_queue_messages", queue="cpu") == 2
    assert value(samples, "modelfactory_celery_queue_messages", queue="settlement") == 1
    for queue in ("default", "gpu", "attribution"):
        assert value(samples, "modelfactory_celery_queue_messages", queue=queue) == 0


def test_queue_depths_are_read_from_the_embedded_sqlite_broker(client, settings, tmp_path):
    url = f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}"
    settings.CELERY_BROKER_URL = url

    assert value(scrape(client), "modelfactory_celery_queue_messages", queue="cpu") == 0  # no table yet
    _send(url, ["cpu", "attribution", "attribution"])
    samples = scrape(client)

    assert value(samples, "modelfactory_celery_queue_messages", queue="cpu") == 1
    assert value(samples, "modelfactory_celery_queue_messages", queue="attribution") == 2


def test_a_broker_that_cannot_be_read_is_reported_down_and_the_rest_still_served(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"

    samples = scrape(client)

    assert value(samples, "modelfactory_metrics_part_up", part="broker") == 0
    assert value(samples, "modelfactory_metrics_part_up", part="settlement") == 1
    assert not [key for key in samples if key[0] == "modelfactory_celery_queue_messages"]


# --- settlement -----------------------------------------------------------------------------------------
def test_epochs_pending_settlement_are_counted_by_status(client):
    for number, status in enumerate(["open", "committing", "committing", "committed"], start=1):
        Epoch.objects.create(
            number=number, status=status, payouts_root="0x00", receipts_root="0x00", total=0, receipt_count=0
        )

    samples = scrape(client)

    assert value(samples, "modelfactory_settlement_epochs_pending", status="open") == 1
    assert value(samples, "modelfactory_settlement_epochs_pending", status="committing") == 2
    assert value(samples, "modelfactory_settlement_receipts_waiting") == 0
