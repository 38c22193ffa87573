"""A receipt's attribution read as `ReceiptAttribution` and written back keeps exactly the keys it had,
whichever writer wrote it; receipts written before lineage was kept beside the evidence read their own
weights as their lineage."""

from __future__ import annotations

from dataclasses import replace

import pytest

from modelfactory.ledger.receipt_attribution import LineageWeights, ReceiptAttribution

LINEAGE = {"contributors": {"0xabc": 0.75, "person:7": 0.25}, "datanets": {"facts": 1.0}}
PEOPLE = {"0xabc": 3, "person:7": 7}
ON_LINEAGE = {
    "methods": ["lineage"],
    "combination": "contributors weighted by their share of each adapter's training rows",
    **LINEAGE,
    "people": PEOPLE,
    "rows": [],
    "lineage": {**LINEAGE, "people": PEOPLE},
}
ATTRIBUTED = {
    "methods": ["lineage", "gradient", "span"],
    "method_weights": {"lineage": 0.2, "gradient": 0.5, "span": 0.3},
    "combination": "lineage 20%",
    "contributors": {"0xabc": 0.9, "person:7": 0.1},
    "datanets": {"facts": 1.0},
    "rows": [{"row_id": 5, "method": "span", "score": 9, "weight": 1.0, "span": "the code is 42"}],
    "by_method": {"lineage": LINEAGE["contributors"], "gradient": {"0xabc": 1.0}, "span": {"0xabc": 1.0}},
    "spans": [{"text": "the code is 42", "words": 4, "row_ids": [5], "occurrences": 1}],
    "lineage": {**LINEAGE, "people": PEOPLE},
    "notes": [],
    "seconds": 0.1234,
}
SETTLED_FIRST = {
    **ATTRIBUTED,
    **LINEAGE,
    "settled_on": "lineage",
    "evidence_weights": {"contributors": ATTRIBUTED["contributors"], "datanets": ATTRIBUTED["datanets"]},
}


@pytest.mark.parametrize(
    "stored",
    [
        ON_LINEAGE,
        {**ON_LINEAGE, "notes": ["a: copy"]},
        ATTRIBUTED,
        SETTLED_FIRST,
        {**ON_LINEAGE, "error": "x"},
    ],
)
def test_a_record_read_and_written_back_is_the_same_json(stored):
    assert ReceiptAttribution.from_json(stored).to_json() == stored


def test_a_failure_adds_its_error_and_nothing_else():
    failed = replace(ReceiptAttribution.from_json(ON_LINEAGE), error="gave up").to_json()

    assert failed == {**ON_LINEAGE, "error": "gave up"}


def test_readers_see_attributes_with_defaults_for_what_a_receipt_lacks():
    record = ReceiptAttribution.from_json({})

    assert (record.methods, record.contributors, record.datanets, record.rows) == ([], {}, {}, [])
    assert (record.notes, record.spans, record.error) == (None, None, None)


def test_lineage_is_what_was_kept_beside_the_evidence_or_else_the_receipts_own_weights():
    assert ReceiptAttribution.from_json(ATTRIBUTED).lineage_weights == LineageWeights(
        contributors=LINEAGE["contributors"], datanets=LINEAGE["datanets"], people=PEOPLE
    )
    older = {key: value for key, value in ON_LINEAGE.items() if key not in ("lineage", "people")}
    assert ReceiptAttribution.from_json(older).lineage_weights == LineageWeights(
        contributors=LINEAGE["contributors"], datanets=LINEAGE["datanets"]
    )
