"""Publishing and answering hand attribution to a real `attribution` worker process over Redis."""

from __future__ import annotations

import pytest
from django.db import transaction

from modelfactory.attribution.models import AdapterSketch, BuildStatus, SpanIndex
from modelfactory.ledger.models import InferenceReceipt
from tests.attribution.attribution_support import CODES, fact, published_facts_adapter
from tests.attribution.test_receipt_attribution import answer_receipt
from tests.support.processes import wait_until
from tests.support.workers import app_broker, celery_worker, worker_log

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services, pytest.mark.slow]


def test_a_published_adapter_is_indexed_and_its_answers_attributed_by_the_worker(
    client, redis_url, settings, use_tiny_base_model, tmp_path
):
    log = tmp_path / "attribution.log"
    env = {"MODELFACTORY_VAR_DIR": str(settings.VAR_DIR), "OMP_NUM_THREADS": "1"}
    with app_broker(redis_url), celery_worker(redis_url, log, queues="attribution", name="attr", env=env):
        published, version, people = published_facts_adapter(client, use_tiny_base_model)
        try:
            wait_until(
                lambda: (
                    AdapterSketch.objects.get(published_model=published).status == BuildStatus.READY
                    and SpanIndex.objects.get(version=version).status == BuildStatus.READY
                ),
                timeout_s=120,
                what="the worker to build the sketch and the span index",
            )
            with transaction.atomic():  # the answer's transaction: the task is sent when it commits
                receipt = answer_receipt(published, fact(CODES[1], 4))
            wait_until(
                lambda: (
                    InferenceReceipt.objects.get(pk=receipt.pk).attribution_status
                    == InferenceReceipt.AttributionStatus.COMPLETE
                ),
                timeout_s=60,
                what="the worker to attribute the answer",
            )
        except TimeoutError:
            pytest.fail(worker_log(log))

    receipt.refresh_from_db()
    contributors = receipt.attribution["contributors"]
    assert max(contributors, key=contributors.get) == people[1].wallet_address
    assert receipt.attribution["methods"] == ["lineage", "gradient", "span"]
