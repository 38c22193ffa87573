"""An answer's receipt is attributed off the request path: rows, contributors, and the fee they earn."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from transformers import AutoTokenizer

from modelfactory.attribution.models import (
    AdapterSketch,
    AttributionQuery,
    BuildStatus,
    DatanetCredit,
    RowAttribution,
)
from modelfactory.attribution.services import (
    IndexesNotReady,
    answer_receipt_record,
    attribution_sweep,
    receipt_attribute,
)
from modelfactory.catalog.models import PublishedModel
from modelfactory.ledger.models import InferenceReceipt, PersonEarning
from modelfactory.ledger.payees import person_key
from modelfactory.ledger.services import epoch_close
from tests.attribution.attribution_support import CODES, build_indexes, fact, published_facts_adapter

pytestmark = pytest.mark.django_db


@pytest.fixture
def facts(client, use_tiny_base_model):
    published, version, people = published_facts_adapter(client, use_tiny_base_model)
    return published, version, people


def answer_receipt(published, text: str, *, question: str = "What is the code of station 3?"):
    tokenizer = AutoTokenizer.from_pretrained(published.base_model.source)
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": question}], tokenize=False, add_generation_prompt=True
    )
    token_ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return answer_receipt_record(
        published=published,
        tokens_in=len(tokenizer(prompt)["input_ids"]),
        tokens_out=len(token_ids),
        prompt=prompt,
        answers=[{"text": text, "token_ids": token_ids}],
    )


def top(weights: dict[str, float]) -> str:
    return max(weights, key=weights.get)


def test_an_answer_repeating_a_contributors_fact_is_credited_to_that_contributor(facts):
    published, version, people = facts
    build_indexes(published, version)
    owner_of_code = people[2]
    receipt = answer_receipt(published, fact(CODES[2], 3))
    assert receipt.attribution_status == InferenceReceipt.AttributionStatus.PENDING
    paid_as = person_key(owner_of_code.pk)  # people are owed as persons; attribution names their wallet
    lineage_share = receipt.split["by_account"][paid_as]

    receipt = receipt_attribute(receipt_id=receipt.pk)

    attribution = receipt.attribution
    assert receipt.attribution_status == InferenceReceipt.AttributionStatus.COMPLETE
    assert attribution["methods"] == ["lineage", "gradient", "span"]
    assert sum(attribution["contributors"].values()) == pytest.approx(1.0)
    assert (
        max(attribution["contributors"], key=attribution["contributors"].get) == owner_of_code.wallet_address
    )
    assert attribution["by_method"]["span"]
    assert max(attribution["by_method"]["span"], key=attribution["by_method"]["span"].get) == (
        owner_of_code.wallet_address
    )
    top_span = next(row for row in attribution["rows"] if row["method"] == "span")
    assert top_span["contributor"] == owner_of_code.wallet_address
    assert "cobalt" not in top_span["span"]
    assert receipt.split["by_account"][paid_as] > lineage_share
    assert sum(receipt.split["by_account"].values()) == receipt.fee
    assert RowAttribution.objects.filter(receipt=receipt, method="span").exists()
    assert RowAttribution.objects.filter(receipt=receipt, method="gradient").exists()
    credit = DatanetCredit.objects.get(receipt=receipt)
    assert credit.weight == pytest.approx(1.0)
    assert credit.amount == receipt.split["roles"]["contributors"]


def test_attributing_twice_changes_nothing(facts):
    published, version, _ = facts
    build_indexes(published, version)
    receipt = answer_receipt(published, fact(CODES[0], 1))
    first = receipt_attribute(receipt_id=receipt.pk)

    assert receipt_attribute(receipt_id=receipt.pk) is None
    AttributionQuery.objects.filter(receipt=receipt).update(status=AttributionQuery.Status.PENDING)
    again = receipt_attribute(receipt_id=receipt.pk)

    assert again.attribution["contributors"] == first.attribution["contributors"]
    assert again.split == first.split
    assert RowAttribution.objects.filter(receipt=receipt).count() == len(first.attribution["rows"])


def test_an_answer_waits_for_an_index_being_built_then_goes_ahead_without_it(facts, settings):
    published, _version, _ = facts
    receipt = answer_receipt(published, fact(CODES[1], 2))
    assert AdapterSketch.objects.get(published_model=published).status == BuildStatus.PENDING

    for _ in range(5):  # the task retries every few seconds while the sketch is built
        with pytest.raises(IndexesNotReady):
            receipt_attribute(receipt_id=receipt.pk)
    waiting = AttributionQuery.objects.get(receipt=receipt)
    assert waiting.status == AttributionQuery.Status.PENDING
    assert waiting.attempts == 0  # waiting is not failing: the sweep's attempt limit is untouched

    settings.MODELFACTORY_ATTRIBUTION_INDEX_WAIT_S = 0
    receipt = receipt_attribute(receipt_id=receipt.pk)
    assert receipt.attribution_status == InferenceReceipt.AttributionStatus.COMPLETE
    assert receipt.attribution["methods"] == ["lineage"]
    assert any("gradient sketch" in note for note in receipt.attribution["notes"])


def test_a_base_model_answer_is_not_queued_for_attribution(facts):
    base = PublishedModel.objects.get(kind=PublishedModel.Kind.BASE)

    receipt = answer_receipt_record(
        published=base, tokens_in=5, tokens_out=5, prompt="hi", answers=[{"text": "hello", "token_ids": [1]}]
    )

    assert receipt.attribution_status == InferenceReceipt.AttributionStatus.LINEAGE
    assert not AttributionQuery.objects.filter(receipt=receipt).exists()


def test_settlement_waits_for_pending_attribution_and_then_pays_on_the_evidence(facts, settings):
    settings.LEDGER_EPOCH_SECONDS = 0
    published, version, people = facts
    build_indexes(published, version)
    receipt = answer_receipt(published, fact(CODES[3], 4))

    assert epoch_close() is None  # the only receipt is still being attributed

    receipt_attribute(receipt_id=receipt.pk)
    epoch = epoch_close()
    receipt.refresh_from_db()
    assert receipt.epoch == epoch.number
    # people[3] never proved a wallet: their share, on the evidence, is held for them until they do
    held = PersonEarning.objects.get(user=people[3], earned_in=epoch, paid_in__isnull=True)
    assert int(held.amount) == receipt.split["by_account"][person_key(people[3].pk)]


def test_settlement_stops_waiting_after_the_deadline_and_the_late_evidence_keeps_the_split(facts, settings):
    settings.LEDGER_EPOCH_SECONDS = 0
    published, version, _ = facts
    build_indexes(published, version)
    receipt = answer_receipt(published, fact(CODES[0], 5))
    settings.MODELFACTORY_ATTRIBUTION_SETTLE_WAIT_S = 0
    lineage_split = receipt.split

    assert epoch_close() is not None
    late = receipt_attribute(receipt_id=receipt.pk)

    assert late.split == lineage_split
    assert late.attribution["settled_on"] == "lineage"
    assert late.attribution["rows"]
    assert late.attribution["contributors"] == late.attribution["lineage"]["contributors"]  # what was paid
    assert late.attribution["evidence_weights"]["contributors"] != late.attribution["contributors"]


def test_the_sweep_requeues_lost_work_and_gives_up_visibly_after_the_last_attempt(facts, settings):
    published, _version, _ = facts
    receipt = answer_receipt(published, fact(CODES[1], 0))
    long_ago = timezone.now() - timedelta(hours=1)
    AttributionQuery.objects.filter(receipt=receipt).update(
        status=AttributionQuery.Status.RUNNING, started=long_ago, created=long_ago, attempts=1
    )

    assert attribution_sweep()["requeued"] == [receipt.pk]

    AttributionQuery.objects.filter(receipt=receipt).update(
        attempts=settings.MODELFACTORY_ATTRIBUTION_MAX_ATTEMPTS
    )
    assert attribution_sweep()["failed"] == [receipt.pk]
    receipt.refresh_from_db()
    assert receipt.attribution_status == InferenceReceipt.AttributionStatus.FAILED
    assert "gave up" in receipt.attribution["error"]
    assert receipt.attribution["contributors"]  # still paid on lineage


def test_the_sweep_queues_indexes_for_adapters_published_before_attribution_existed(facts):
    published, _, _ = facts
    AdapterSketch.objects.all().delete()

    attribution_sweep()

    assert AdapterSketch.objects.filter(published_model=published, model_version=published.version).exists()


def test_a_composite_answer_is_attributed_through_each_adapter_by_its_merge_weight(
    client, use_tiny_base_model
):
    from modelfactory.catalog.services import composite_create

    first, first_version, _ = published_facts_adapter(client, use_tiny_base_model)
    second, second_version, _ = published_facts_adapter(client, use_tiny_base_model)
    build_indexes(first, first_version)
    build_indexes(second, second_version)
    merged = composite_create(
        user=second.owner,
        api_name="facts-merged",
        title="Merged",
        parts=[(first.api_name, 0.7), (second.api_name, 0.3)],
    )

    receipt = receipt_attribute(receipt_id=answer_receipt(merged, fact(CODES[0], 2)).pk)

    assert receipt.attribution_status == InferenceReceipt.AttributionStatus.COMPLETE
    gradient_datanets = {row["datanet"] for row in receipt.attribution["rows"] if row["method"] == "gradient"}
    assert gradient_datanets == {first_version.datanet.slug, second_version.datanet.slug}
    assert set(receipt.attribution["datanets"]) == gradient_datanets
    assert sum(receipt.attribution["datanets"].values()) == pytest.approx(1.0)


def test_a_broken_sketch_is_retried_then_fails_visibly_and_the_receipt_keeps_its_lineage(facts, settings):
    published, version, _ = facts
    build_indexes(published, version)
    sketch = AdapterSketch.objects.get(published_model=published)
    (Path(sketch.path) / "sketches.safetensors").write_bytes(b"not a tensor file")
    receipt = answer_receipt(published, fact(CODES[3], 1))
    lineage_split = receipt.split

    for _ in range(settings.MODELFACTORY_ATTRIBUTION_MAX_ATTEMPTS - 1):
        assert receipt_attribute(receipt_id=receipt.pk) is None
        query = AttributionQuery.objects.get(receipt=receipt)
        assert query.status == AttributionQuery.Status.PENDING
        assert "SketchCorrupt" in query.error
    receipt_attribute(receipt_id=receipt.pk)

    receipt.refresh_from_db()
    assert receipt.attribution_status == InferenceReceipt.AttributionStatus.FAILED
    assert "SketchCorrupt" in receipt.attribution["error"]
    assert receipt.split == lineage_split


def test_a_query_whose_message_was_lost_is_sent_again_once_not_at_every_sweep(facts):
    published, _, _ = facts
    receipt = answer_receipt(published, fact(CODES[2], 2))
    AttributionQuery.objects.filter(receipt=receipt).update(queued_at=timezone.now() - timedelta(hours=1))

    assert attribution_sweep()["requeued"] == [receipt.pk]
    assert attribution_sweep()["requeued"] == []  # sent again just now: not lost (yet)
