"""Only rare spans earn credit: a phrase many rows of the datanet version share names no row in particular."""

from __future__ import annotations

import random

import pytest
from django.template.loader import render_to_string
from hypothesis import given, settings
from hypothesis import strategies as st

from inference.attribution.span_index import (
    DEFAULT_MAX_ROW_SHARE,
    MIN_RARE_ROWS,
    SpanIndex,
    rare_row_limit,
    tokenize,
)
from modelfactory.attribution.combination import RowOwner, SpanEvidence, combine
from modelfactory.attribution.services import receipt_attribute
from modelfactory.ledger.models import InferenceReceipt
from modelfactory.ledger.receipt_evidence import receipt_evidence, span_detail
from tests.attribution.attribution_support import build_indexes, published_facts_adapter
from tests.attribution.test_receipt_attribution import answer_receipt
from tests.support.factories import make_datanet, make_user

# -- the naive reference: scan every row for every pattern ----------------------------------------------

WORDS = ["a", "b", "c", ","]
UNKNOWN_WORDS = ["z"]  # never in a row


def naive_rows_containing(rows: dict[int, list[str]], pattern: list[str]) -> set[int]:
    """The ids of the rows that contain `pattern` word for word, by trying every position of every row."""
    return {
        row_id
        for row_id, words in rows.items()
        if any(words[j : j + len(pattern)] == pattern for j in range(len(words) - len(pattern) + 1))
    }


def naive_match_lengths(rows: dict[int, list[str]], query: list[str]) -> list[int]:
    lengths = []
    for i in range(len(query)):
        length = 0
        while i + length < len(query) and naive_rows_containing(rows, query[i : i + length + 1]):
            length += 1
        lengths.append(length)
    return lengths


def naive_selection(
    rows: dict[int, list[str]], query: list[str], min_words: int, limit: int, min_rare: int | None = None
) -> list[tuple[int, int, bool]]:
    """(start, words, counted) of the spans the rarity rule keeps: rare spans first, common ones fill in;
    with `min_rare`, shorter spans join the rare ones when they are rare and hold a rare word."""
    lengths = naive_match_lengths(rows, query)
    shortest = min_words if min_rare is None else min(min_rare, min_words)
    spans = [(i, i + length) for i, length in enumerate(lengths) if length >= shortest]
    maximal = [(start, end) for start, end in spans if not any(s < start and end <= e for s, e in spans)]

    def rare_span(span: tuple[int, int]) -> bool:
        return len(naive_rows_containing(rows, query[span[0] : span[1]])) <= limit

    long = [span for span in maximal if span[1] - span[0] >= min_words]
    rare = [span for span in long if rare_span(span)]
    common = [span for span in long if span not in rare]
    rare += [
        span
        for span in maximal
        if span[1] - span[0] < min_words
        and rare_span(span)
        and any(len(naive_rows_containing(rows, [word])) <= limit for word in query[span[0] : span[1]])
    ]
    taken: set[int] = set()
    chosen = []
    for pool, counted in ((rare, True), (common, False)):
        for start, end in sorted(pool, key=lambda span: (span[0] - span[1], span[0])):
            covered = set(range(start, end))
            if not covered & taken:
                taken |= covered
                chosen.append((start, end - start, counted))
    return sorted(chosen)


@st.composite
def corpora_and_queries(draw):
    """Up to 12 rows over four words, so short phrases recur in many rows; queries spliced from them."""
    count = draw(st.integers(0, 12))  # drawn uniformly: lists drawn freely are mostly too short to be common
    row_ids = draw(st.lists(st.integers(0, 1000), unique=True, min_size=count, max_size=count))
    rows = {row_id: draw(st.lists(st.sampled_from(WORDS), max_size=10)) for row_id in row_ids}
    query: list[str] = []
    for _ in range(draw(st.integers(0, 5))):
        if rows and draw(st.booleans()):
            words = rows[draw(st.sampled_from(row_ids))]
            start = draw(st.integers(0, len(words)))
            query += words[start : draw(st.integers(start, len(words)))]
        else:
            query += draw(st.lists(st.sampled_from(WORDS + UNKNOWN_WORDS), max_size=4))
    return rows, query


@settings(max_examples=250, deadline=None)
@given(
    corpora_and_queries(),
    st.integers(1, 3),
    st.integers(1, 3),
    st.sampled_from([None, 0.0, 0.05, 0.3, 0.5, 1.0]),
    st.sampled_from([None, 1, 2]),
)
def test_distinct_row_counts_and_the_rarity_rule_agree_with_a_naive_scan_of_the_rows(
    corpus_and_query, min_words, cap, share, min_rare
):
    rows, query = corpus_and_query
    index = SpanIndex.build([(row_id, " ".join(words)) for row_id, words in rows.items()])
    answer = " ".join(query)
    normalized = [token.text for token in tokenize(answer)]
    limit = len(rows) if share is None else rare_row_limit(len(rows), share)

    spans = index.longest_spans(
        answer, min_words=min_words, max_rows_per_span=cap, max_row_share=share, min_rare_words=min_rare
    )

    starts = {token.start: i for i, token in enumerate(tokenize(answer))}
    assert [(starts[span.start], span.words, span.counted) for span in spans] == naive_selection(
        rows, normalized, min_words, limit, None if share is None else min_rare
    )
    for span in spans:
        holders = naive_rows_containing(rows, [token.text for token in tokenize(span.text)])
        assert span.rows == len(holders)
        assert span.row_ids == tuple(sorted(holders))[:cap]
        assert span.counted == (len(holders) <= limit)
        assert bool(span.reason) == (not span.counted)


def test_distinct_rows_count_each_row_once_however_often_it_repeats_the_phrase():
    generator = random.Random(7)
    for _ in range(30):
        rows = {
            row_id: [generator.choice(WORDS) for _ in range(generator.randint(0, 30))] for row_id in range(20)
        }
        index = SpanIndex.build([(row_id, " ".join(words)) for row_id, words in rows.items()])
        pattern = [generator.choice(WORDS) for _ in range(generator.randint(1, 3))]

        spans = index.longest_spans(" ".join(pattern), min_words=1, max_rows_per_span=1000)

        for span in spans:
            holders = naive_rows_containing(rows, [token.text for token in tokenize(span.text)])
            assert span.rows == len(holders) <= span.occurrences
            assert span.row_ids == tuple(sorted(holders))


# -- the rule, as a person reads it ---------------------------------------------------------------------

BOILERPLATE_ROWS = 40
FACT_ROW = 100
FACT = "The Lumen Arc Pro battery lasts forty hours on one charge."
ANSWER = (
    "Your parcel shipped, and the Lumen Arc Pro came with it. Its battery lasts forty hours on one charge."
)


def lumen_index() -> SpanIndex:
    """Forty order rows share one stock sentence; one row states a fact about the battery."""
    rows = [(i, f"Order {i} shipped on day {i}, and the Lumen Arc Pro came with it.") for i in range(40)]
    return SpanIndex.build([*rows, (FACT_ROW, FACT)])


def lumen_owners() -> dict[int, RowOwner]:
    owners = {i: RowOwner(wallet=f"0xorders{i % 4}", datanet="lumen") for i in range(BOILERPLATE_ROWS)}
    return {**owners, FACT_ROW: RowOwner(wallet="0xfact", datanet="lumen")}


def evidence(index: SpanIndex, share: float | None) -> list[SpanEvidence]:
    return [
        SpanEvidence(
            text=match.text,
            words=match.words,
            row_ids=match.row_ids,
            occurrences=match.occurrences,
            rows=match.rows,
            indexed_rows=index.row_count,
            counted=match.counted,
            reason=match.reason,
            datanet="lumen",
        )
        for match in index.longest_spans(ANSWER, min_words=6, max_row_share=share)
    ]


def test_a_phrase_most_rows_share_earns_no_credit_while_a_rare_fact_does():
    index = lumen_index()

    stock, fact = index.longest_spans(ANSWER, min_words=6, max_row_share=DEFAULT_MAX_ROW_SHARE)

    assert stock.text == ", and the Lumen Arc Pro came with it."
    assert (stock.rows, stock.counted) == (BOILERPLATE_ROWS, False)
    assert "in 40 of 41 rows" in stock.reason
    assert fact.text == "battery lasts forty hours on one charge."
    assert (fact.rows, fact.row_ids, fact.counted, fact.reason) == (1, (FACT_ROW,), True, "")

    result = combine(
        lineage_contributors={"0xorders0": 0.5, "0xfact": 0.5},
        lineage_datanets={"lumen": 1.0},
        spans=evidence(index, DEFAULT_MAX_ROW_SHARE),
        span_ran=True,
        answer_words=len(tokenize(ANSWER)),
        owners=lumen_owners(),
    )

    assert result.by_method["span"] == {"0xfact": 1.0}
    assert [row["row_id"] for row in result.rows] == [FACT_ROW]
    assert (result.rows[0]["span_rows"], result.rows[0]["indexed_rows"]) == (1, 41)
    # Coverage counts only the credited span's 8 words, not the boilerplate's 10.
    assert result.method_weights["span"] == pytest.approx(0.8 * 8 / len(tokenize(ANSWER)), abs=1e-6)
    assert [(span["counted"], span["rows"], span["indexed_rows"]) for span in result.spans] == [
        (False, 40, 41),
        (True, 1, 41),
    ]


def test_without_the_rarity_rule_the_shared_phrase_takes_most_of_the_span_weight():
    """What the trial saw, kept as the contrast that motivates the rule."""
    result = combine(
        lineage_contributors={"0xorders0": 0.5, "0xfact": 0.5},
        lineage_datanets={"lumen": 1.0},
        spans=evidence(lumen_index(), None),
        span_ran=True,
        answer_words=len(tokenize(ANSWER)),
        owners=lumen_owners(),
    )

    assert result.by_method["span"]["0xfact"] < 0.5


def test_a_rare_quote_overlapping_longer_boilerplate_is_credited_rather_than_hidden_by_it():
    stock = "shipped, and the Lumen Arc Pro came with a case and a strap."
    rows = [(i, f"Order {i} {stock}") for i in range(BOILERPLATE_ROWS)]
    index = SpanIndex.build([*rows, (FACT_ROW, "A strap. The strap is made of recycled sailcloth.")])
    answer = (
        "Yes, and the Lumen Arc Pro came with a case and a strap. The strap is made of recycled sailcloth."
    )

    before = index.longest_spans(answer, min_words=6)
    after = index.longest_spans(answer, min_words=6, max_row_share=DEFAULT_MAX_ROW_SHARE)

    # Longest first, the 14-word stock phrase would hide the 11-word fact it overlaps; rare spans go first.
    assert [(span.text, span.rows) for span in before] == [
        (", and the Lumen Arc Pro came with a case and a strap.", BOILERPLATE_ROWS)
    ]
    assert [(span.text, span.rows, span.counted) for span in after] == [
        ("a strap. The strap is made of recycled sailcloth.", 1, True)
    ]


def test_small_datanets_still_credit_a_fact_a_few_rows_share():
    assert rare_row_limit(20, DEFAULT_MAX_ROW_SHARE) == MIN_RARE_ROWS == 3
    assert rare_row_limit(41, DEFAULT_MAX_ROW_SHARE) == 3
    assert rare_row_limit(1000, DEFAULT_MAX_ROW_SHARE) == 50
    assert rare_row_limit(100, 0.07) == 7  # a share from percent: 7.000000000000001 is still 7
    assert rare_row_limit(100, 1.0) == 100
    with pytest.raises(ValueError):
        rare_row_limit(100, -0.01)


# -- stored evidence, old and new, on the receipt --------------------------------------------------------


def test_evidence_stored_before_the_rule_reads_as_counted_with_its_row_count_unknown():
    old = {"text": "measure twice and cut once", "words": 5, "row_ids": [3], "occurrences": 1}

    span = SpanEvidence.from_json(old)

    assert (span.counted, span.rows, span.indexed_rows, span.reason) == (True, None, None, "")
    assert span_detail(span.words, span.rows, span.indexed_rows) == "5 words"
    assert SpanEvidence.from_json(span.to_json()) == span


@pytest.mark.django_db
def test_the_receipt_says_why_each_span_counted_or_was_too_common_and_hides_permissioned_text():
    public = make_datanet(slug="lumen-public")
    private = make_datanet(owner=make_user(), slug="lumen-private", permissioned=True)
    spans = [
        SpanEvidence("Lumen stock sentence", 10, [1, 2], 40, 40, 41, False, "too common", public.slug),
        SpanEvidence("battery lasts forty hours", 8, [100], 1, 1, 41, True, "", public.slug),
        SpanEvidence("secret private wording", 7, [200], 1, 1, 12, True, "", private.slug),
    ]
    old_row = {"row_id": 999999, "method": "span", "score": 7, "weight": 1.0, "span": "", "datanet": None}
    receipt = InferenceReceipt(
        attribution={
            "methods": ["lineage", "span"],
            "rows": [old_row],
            "spans": [span.to_json() for span in spans],
        },
        attribution_status=InferenceReceipt.AttributionStatus.COMPLETE,
    )

    page = render_to_string("attribution/_evidence.html", {"evidence": receipt_evidence(receipt, None)})

    assert "10 words, too common to credit (in 40 of 41 rows)" in page
    assert "8 words, found in 1 of 41 rows" in page
    assert "battery lasts forty hours" in page
    assert "7 words, found in 1 of 12 rows" in page
    assert "secret private wording" not in page
    assert "(7 words, 100.0% of the method)" in page  # a row stored before the rule: its length alone


@pytest.mark.django_db
def test_a_phrase_every_contributor_wrote_earns_nothing_until_the_share_setting_allows_it(
    client, use_tiny_base_model, settings
):
    published, version, people = published_facts_adapter(client, use_tiny_base_model)
    build_indexes(published, version)
    # "The vault code of station 3 is" opens the station-3 row of each of the 4 contributors: 4 of 24 rows,
    # more than max(3, 5% of 24).
    answer = "The vault code of station 3 is unknown to me."

    receipt = receipt_attribute(receipt_id=answer_receipt(published, answer).pk)

    (span,) = receipt.attribution["spans"]
    assert (span["words"], span["rows"], span["indexed_rows"], span["counted"]) == (7, 4, 24, False)
    assert span["datanet"] == version.datanet.slug
    assert receipt.attribution["by_method"]["span"] == {}
    assert receipt.attribution["method_weights"]["span"] == 0.0
    page = client.get(f"/receipts/{receipt.receipt_id}/evidence/").content.decode()
    assert "7 words, too common to credit (in 4 of 24 rows)" in page

    settings.MODELFACTORY_ATTRIBUTION_MAX_SPAN_ROW_SHARE = 1.0  # 100%: the rule off
    receipt = receipt_attribute(receipt_id=answer_receipt(published, answer).pk)

    (span,) = receipt.attribution["spans"]
    assert span["counted"] is True
    assert set(receipt.attribution["by_method"]["span"]) == {person.wallet_address for person in people}
    page = client.get(f"/receipts/{receipt.receipt_id}/evidence/").content.decode()
    assert "7 words, found in 4 of 24 rows" in page


def test_a_short_quote_of_a_rare_fact_is_credited_and_a_short_common_phrase_is_not():
    rows = [
        (row_id, f"Ticket {row_id}: the lamp is in the box and the cable is in the bag.")
        for row_id in range(60)
    ]
    rows += [(200 + i, f"The access phrase of the gate {i} is word {i}.") for i in range(20)]
    rows += [(100 + i, "The access phrase of the old quarry is raven walrus.") for i in range(3)]
    index = SpanIndex.build(rows)
    answer = "The access phrase of the quarry is raven walrus, and the lamp is in the box."

    plain = index.longest_spans(answer, min_words=6, max_row_share=DEFAULT_MAX_ROW_SHARE)
    spans = index.longest_spans(answer, min_words=6, max_row_share=DEFAULT_MAX_ROW_SHARE, min_rare_words=3)

    assert [span.text for span in plain if span.counted] == []
    counted = [span for span in spans if span.counted]
    assert [span.text for span in counted] == ["quarry is raven walrus"]
    assert counted[0].row_ids == (100, 101, 102)
