"""Verbatim span matching: the index finds the longest quoted stretches of an answer and the rows quoted."""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inference.attribution.span_index import IndexCorrupt, SpanIndex, SpanMatch, normalize, tokenize

FOX = "The quick brown fox jumps over the lazy dog near the river bank."
RECIPE = "Whisk two eggs with a pinch of salt before folding in the flour."
WEATHER = "Tomorrow will be sunny in the morning and rainy in the afternoon."


@pytest.fixture
def index() -> SpanIndex:
    return SpanIndex.build([(10, FOX), (20, RECIPE), (30, WEATHER)])


def test_a_sentence_copied_from_a_row_is_found_with_that_row_and_its_offsets(index):
    answer = "As the saying goes, the quick brown fox jumps over the lazy dog. Nothing else."

    (span,) = index.longest_spans(answer, min_words=6)

    quoted = "the quick brown fox jumps over the lazy dog"
    start = answer.index(quoted)
    assert span == SpanMatch(
        start=start, end=start + len(quoted), text=quoted, words=9, row_ids=(10,), occurrences=1, rows=1
    )


def test_spans_never_cross_row_boundaries():
    index = SpanIndex.build([(1, "alpha beta gamma delta"), (2, "epsilon zeta eta theta")])
    answer = "gamma delta epsilon zeta"

    assert index.longest_spans(answer, min_words=3) == []
    assert [(span.text, span.row_ids) for span in index.longest_spans(answer, min_words=2)] == [
        ("gamma delta", (1,)),
        ("epsilon zeta", (2,)),
    ]
    assert index.match_lengths(answer) == [2, 1, 2, 1]


def test_spans_shorter_than_min_words_are_ignored(index):
    answer = "Whisk two eggs with a pinch of pepper, and tomorrow will be sunny."

    assert [span.text for span in index.longest_spans(answer, min_words=4)] == [
        "Whisk two eggs with a pinch of",
        "tomorrow will be sunny",
    ]
    assert [span.text for span in index.longest_spans(answer, min_words=5)] == [
        "Whisk two eggs with a pinch of"
    ]
    assert index.longest_spans(answer, min_words=8) == []


def test_matching_ignores_case_and_unicode_width_but_offsets_point_into_the_original_answer():
    index = SpanIndex.build([(7, "The ﬁnal café closes at noon, said Straße.")])
    answer = "Well: ＴＨＥ FINAL Cafe\u0301 CLOSES at noon, said STRASSE!"

    (span,) = index.longest_spans(answer, min_words=5)

    assert span.text == "ＴＨＥ FINAL Cafe\u0301 CLOSES at noon, said STRASSE"
    assert answer[span.start : span.end] == span.text
    assert (span.words, span.row_ids) == (9, (7,))


def test_a_span_shared_by_several_rows_names_all_of_them_up_to_the_cap_and_counts_all_occurrences():
    motto = "measure twice and cut once"
    rows = [(row_id, f"Row {row_id} says: {motto}.") for row_id in (50, 40, 30, 20, 10)]
    rows.append((60, f"{motto}, yes, {motto}"))  # twice in one row: two occurrences, one row
    index = SpanIndex.build(rows)
    answer = f"My grandfather always said {motto}!"

    (everyone,) = index.longest_spans(answer, min_words=5, max_rows_per_span=16)
    (capped,) = index.longest_spans(answer, min_words=5, max_rows_per_span=3)

    assert everyone.text == motto
    assert everyone.row_ids == (10, 20, 30, 40, 50, 60)
    assert everyone.occurrences == 7
    assert capped.row_ids == (10, 20, 30)
    assert capped.occurrences == 7


def test_overlapping_candidates_keep_the_longest():
    index = SpanIndex.build([(1, "one two three four five"), (2, "four five six seven eight nine ten")])
    answer = "one two three four five six seven eight nine ten"

    spans = index.longest_spans(answer, min_words=3)

    # "one..five" (5 words) overlaps the longer "four..ten" (7 words), which wins; the shorter quote is
    # dropped whole, not trimmed to "one two three".
    assert [(span.text, span.row_ids) for span in spans] == [("four five six seven eight nine ten", (2,))]


def test_non_overlapping_quotes_are_all_kept_in_answer_order():
    index = SpanIndex.build([(1, "one two three four five"), (2, "six seven eight nine ten eleven")])

    spans = index.longest_spans("one two three four five six seven eight nine ten eleven", min_words=3)

    assert [(span.text, span.row_ids) for span in spans] == [
        ("one two three four five", (1,)),
        ("six seven eight nine ten eleven", (2,)),
    ]


def test_ties_between_overlapping_candidates_go_to_the_earlier_one():
    index = SpanIndex.build([(1, "red green blue"), (2, "blue cyan magenta")])

    spans = index.longest_spans("red green blue cyan magenta", min_words=3)

    assert [(span.text, span.row_ids) for span in spans] == [("red green blue", (1,))]


def test_a_word_no_row_contains_breaks_a_span(index):
    answer = "the quick brown fox xylophone jumps over the lazy dog"

    assert [span.text for span in index.longest_spans(answer, min_words=4)] == [
        "the quick brown fox",
        "jumps over the lazy dog",
    ]


def test_empty_index_empty_answer_and_unmatched_answer_give_no_spans(index):
    assert SpanIndex.build([]).longest_spans(FOX, min_words=1) == []
    assert SpanIndex.build([(1, ""), (2, "  ")]).longest_spans(FOX, min_words=1) == []
    assert index.longest_spans("", min_words=1) == []
    assert index.longest_spans("   \n ", min_words=1) == []
    assert index.longest_spans("Zebras yodel quietly", min_words=1) == []


def test_invalid_thresholds_are_rejected(index):
    with pytest.raises(ValueError, match="min_words"):
        index.longest_spans(FOX, min_words=0)
    with pytest.raises(ValueError, match="max_rows_per_span"):
        index.longest_spans(FOX, max_rows_per_span=-1)


def test_sizes_count_rows_words_and_array_bytes(index):
    assert index.row_count == 3
    assert index.token_count == sum(len(tokenize(text)) for text in (FOX, RECIPE, WEATHER))
    assert (SpanIndex.build([]).row_count, SpanIndex.build([]).token_count) == (0, 0)

    rows = [(i, f"{FOX} {RECIPE} {WEATHER} Row number {i}.") for i in range(500)]
    big = SpanIndex.build(rows)
    # An int32 word id and an int32 suffix-array entry per token, plus a little per row and per word.
    assert 8 <= big.nbytes / big.token_count < 9


def test_normalizing_cluster_by_cluster_equals_nfkc_casefold_of_the_whole_text():
    samples = [
        "plain ascii Text",
        "ＦＵＬＬ ｗｉｄｔｈ ﬁ ﬂ ½ ² ℌ",
        "Straße ΣΊΣΥΦΟΣ İstanbul",
        "cafe\u0301 a\u0316\u0301 o\u0308\u0304",  # combining marks, one pair out of canonical order
        "\u1100\u1161\u11a8 \u1112\u1161\u11ab",  # Hangul jamo that compose into syllables
        "\u0b47\u0b3e \u0dd9\u0dcf",  # Oriya and Sinhala two-starter compositions
    ]
    for text in samples:
        normalized, origins = normalize(text)
        assert normalized == unicodedata.normalize("NFKC", text).casefold(), text
        if origins is not None:
            assert len(origins) == len(normalized)


def test_save_and_load_round_trip_gives_the_same_matches(index, tmp_path):
    answer = "Tomorrow will be sunny in the morning, and the quick brown fox jumps over the lazy dog."
    index.save(tmp_path / "index")

    loaded = SpanIndex.load(tmp_path / "index")

    assert loaded.longest_spans(answer, min_words=3) == index.longest_spans(answer, min_words=3) != []
    assert (loaded.row_count, loaded.token_count, loaded.nbytes) == (3, index.token_count, index.nbytes)
    assert not [path.name for path in (tmp_path / "index").iterdir() if ".tmp" in path.name]


def test_an_empty_index_survives_a_round_trip(tmp_path):
    SpanIndex.build([]).save(tmp_path)

    loaded = SpanIndex.load(tmp_path)

    assert (loaded.row_count, loaded.longest_spans(FOX, min_words=1)) == (0, [])


def test_a_truncated_index_file_raises_index_corrupt(index, tmp_path):
    index.save(tmp_path)
    suffix_array = tmp_path / "suffix_array.npy"
    suffix_array.write_bytes(suffix_array.read_bytes()[:-7])

    with pytest.raises(IndexCorrupt, match=r"suffix_array\.npy.*truncated"):
        SpanIndex.load(tmp_path)


def test_a_garbled_index_file_raises_index_corrupt(index, tmp_path):
    index.save(tmp_path)
    tokens = tmp_path / "tokens.npy"
    data = bytearray(tokens.read_bytes())
    data[-3] ^= 0xFF
    tokens.write_bytes(bytes(data))

    with pytest.raises(IndexCorrupt, match=r"tokens\.npy.*checksum"):
        SpanIndex.load(tmp_path)


def test_a_missing_index_file_raises_index_corrupt(index, tmp_path):
    index.save(tmp_path)
    (tmp_path / "vocabulary.txt").unlink()

    with pytest.raises(IndexCorrupt, match=r"vocabulary\.txt: missing"):
        SpanIndex.load(tmp_path)
    with pytest.raises(IndexCorrupt, match=r"manifest\.json: missing"):
        SpanIndex.load(tmp_path / "nowhere")
    assert issubclass(IndexCorrupt, ValueError)


def test_an_unreadable_manifest_raises_index_corrupt(index, tmp_path):
    index.save(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")

    with pytest.raises(IndexCorrupt, match=r"manifest\.json: unreadable"):
        SpanIndex.load(tmp_path)


def test_files_from_two_different_indexes_are_not_mixed(index, tmp_path):
    index.save(tmp_path / "a")
    SpanIndex.build([(1, "something else entirely")]).save(tmp_path / "b")
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    other = json.loads((tmp_path / "b" / "manifest.json").read_text())
    manifest["files"]["tokens.npy"] = other["files"]["tokens.npy"]
    (tmp_path / "a" / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "a" / "tokens.npy").write_bytes((tmp_path / "b" / "tokens.npy").read_bytes())

    with pytest.raises(IndexCorrupt, match=r"tokens\.npy"):
        SpanIndex.load(tmp_path / "a")


def test_the_span_index_imports_no_django():
    code = (
        "import sys, inference.attribution.span_index; "
        "assert not [m for m in sys.modules if m == 'django' or m.startswith('django.')], 'django imported'"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parents[3],
    )
    assert completed.returncode == 0, completed.stderr[-2000:]


# -- against a brute-force reference ----------------------------------------------------------------------

WORDS = ["a", "b", "c", ","]
UNKNOWN_WORDS = ["z", "Q"]  # never in a row


def _occurrences(rows: dict[int, list[str]], pattern: list[str]) -> dict[int, int]:
    found = {}
    for row_id, words in rows.items():
        count = sum(words[j : j + len(pattern)] == pattern for j in range(len(words) - len(pattern) + 1))
        if count:
            found[row_id] = count
    return found


def _brute_force_lengths(rows: dict[int, list[str]], query: list[str]) -> list[int]:
    lengths = []
    for i in range(len(query)):
        length = 0
        while i + length < len(query) and _occurrences(rows, query[i : i + length + 1]):
            length += 1
        lengths.append(length)
    return lengths


def _brute_force_selection(lengths: list[int], min_words: int) -> list[tuple[int, int]]:
    spans = [(i, i + length) for i, length in enumerate(lengths) if length >= min_words]
    maximal = [(start, end) for start, end in spans if not any(s < start and end <= e for s, e in spans)]
    taken: set[int] = set()
    chosen = []
    for start, end in sorted(maximal, key=lambda span: (span[0] - span[1], span[0])):
        span = set(range(start, end))
        if not span & taken:
            taken |= span
            chosen.append((start, end - start))
    return sorted(chosen)


@st.composite
def corpora_and_queries(draw):
    row_ids = draw(st.lists(st.integers(0, 1000), unique=True, max_size=6))
    rows = {row_id: draw(st.lists(st.sampled_from(WORDS), max_size=12)) for row_id in row_ids}
    query: list[str] = []
    for _ in range(draw(st.integers(0, 5))):
        if rows and draw(st.booleans()):
            words = rows[draw(st.sampled_from(row_ids))]
            start = draw(st.integers(0, len(words)))
            query += words[start : draw(st.integers(start, len(words)))]  # a piece spliced from a row
        else:
            query += draw(st.lists(st.sampled_from(WORDS + UNKNOWN_WORDS), max_size=4))
    return rows, query


@settings(max_examples=250, deadline=None)
@given(corpora_and_queries(), st.integers(1, 4), st.integers(1, 3))
def test_matches_agree_with_a_brute_force_search(corpus_and_query, min_words, cap):
    rows, query = corpus_and_query
    index = SpanIndex.build([(row_id, " ".join(words)) for row_id, words in rows.items()])
    answer = " ".join(query)
    normalized_query = [token.text for token in tokenize(answer)]

    lengths = _brute_force_lengths(rows, normalized_query)
    assert index.match_lengths(answer) == lengths

    spans = index.longest_spans(answer, min_words=min_words, max_rows_per_span=cap)
    starts = {token.start: i for i, token in enumerate(tokenize(answer))}
    assert [(starts[span.start], span.words) for span in spans] == _brute_force_selection(lengths, min_words)
    for span in spans:
        pattern = [token.text for token in tokenize(span.text)]
        assert len(pattern) == span.words
        assert answer[span.start : span.end] == span.text
        found = _occurrences(rows, pattern)
        assert span.row_ids == tuple(sorted(found))[:cap]
        assert span.occurrences == sum(found.values())
