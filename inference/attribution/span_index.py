"""Verbatim span matching: which training rows does a model's answer quote word for word?

When a fine-tuned model answers, the longest stretches of the answer that occur verbatim in training rows
are strong evidence of where the answer came from (OpenLedger's "span matching", the infini-gram idea), so
those rows and their contributors can be credited.

Why words and not model tokens: the index belongs to a dataset version, and one dataset version is used to
fine-tune adapters for several base models with different tokenizers. BPE boundaries also shift with the
surrounding text, so the same sentence can tokenize differently in an answer than in a row. Words and
punctuation (`\\w+|[^\\w\\s]`) after NFKC and casefolding are stable across tokenizers and are what a person
means by "the same text": case, full-width letters and ligatures do not hide a copy.

Why a suffix array: all suffixes of the concatenated rows sorted, so every occurrence of a phrase lies in
one contiguous range. Extending a match by one word is a binary search inside the current range, the rows
come from the final range and its width is the occurrence count. There is no n-gram length limit and no
per-n table, and building it is one call into libdivsufsort (C, near-linear time).

Cost: 8 bytes per indexed token (a 4-byte word id and a 4-byte suffix-array entry, both int32), plus 16
bytes per row (its id and where it starts), 8 bytes per vocabulary word for the first-word ranges and the
vocabulary text itself; a 60-word row costs about half a kilobyte. A query costs O(m · L · log N) for m
answer words, matches of length L and N indexed tokens: milliseconds for an answer of a few hundred words.

Why rarity: a long span is not evidence by length alone. Boilerplate that many rows share (", and the
Lumen Arc Pro", a greeting, a disclaimer) is quoted by answers because the whole dataset says it, so it
names no row in particular; in a trial one such phrase took a third of an answer's weight. As OLMoTrace
keeps only long *and* rare spans, `longest_spans(..., max_row_share=...)` marks a span found in too many
distinct rows as not counted: it is still reported (a receipt can say why it earned nothing) but earns no
weight.

This is a plain library: it must not import Django (workers and scripts use it without settings).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydivsufsort import divsufsort

from primitives.atomic_files import replace_file_atomically

__all__ = [
    "DEFAULT_MAX_ROW_SHARE",
    "MIN_RARE_ROWS",
    "IndexCorrupt",
    "SpanIndex",
    "SpanMatch",
    "Token",
    "normalize",
    "rare_row_limit",
    "tokenize",
]

FORMAT = "span-index/1"
MANIFEST = "manifest.json"
VOCABULARY = "vocabulary.txt"
ARRAYS = ("tokens", "suffix_array", "row_ids", "row_starts")
_DTYPES = {"tokens": np.int32, "suffix_array": np.int32, "row_ids": np.int64, "row_starts": np.int64}

SEPARATOR = 0  # ends every row; never produced by tokenizing, so no match can run across a row boundary
UNKNOWN = -1  # an answer word that no row contains; it matches nothing and breaks spans

_TOKEN = re.compile(r"\w+|[^\w\s]")

DEFAULT_MAX_ROW_SHARE = 0.05
"""A span found in more than this share of a dataset version's rows is too common to credit.

Five percent: a fact is stated by one row or a handful (paraphrases, a few contributors who know it),
while template phrases, product names in a stock sentence and greetings recur across a large part of a
dataset. At 5% a 1,000-row version still credits a span found in up to 50 rows, far more than a fact is
repeated, while a stock phrase that a large part of the rows share earns nothing.
"""

MIN_RARE_ROWS = 3
"""However small the dataset, a span in at most this many rows is rare enough to credit.

Without a floor a 20-row version (5% = 1 row) could never credit a fact two contributors both wrote, and
a span shared by two or three rows is still specific evidence: the rows split its credit between them.
"""


class IndexCorrupt(ValueError):
    """A saved index is missing files or its files do not agree: rebuild it rather than match against it."""


@dataclass(frozen=True)
class SpanMatch:
    """A stretch of the answer found verbatim in the index; offsets point into the original answer text.

    `occurrences` counts positions (a row quoting the phrase twice counts twice), `rows` counts the
    distinct rows containing it (k of the index's `row_count` M: what rarity is judged on), and
    `row_ids` names at most `max_rows_per_span` of them. A span that is not `counted` was too common to
    credit; `reason` says so in words ("" for counted spans).
    """

    start: int
    end: int
    text: str
    words: int
    row_ids: tuple[int, ...]
    occurrences: int
    rows: int
    counted: bool = True
    reason: str = ""


@dataclass(frozen=True)
class Token:
    """A normalized word or punctuation mark with the span of the original text it came from."""

    text: str
    start: int
    end: int


def rare_row_limit(row_count: int, max_row_share: float = DEFAULT_MAX_ROW_SHARE) -> int:
    """The most distinct rows a span may occur in and still earn credit: max(MIN_RARE_ROWS, ⌈share · M⌉).

    The product is rounded to nine decimals before the ceiling so that a share given in percent (0.07 of
    100 rows is 7.000000000000001 in floating point) gives the limit a person would compute (7, not 8).
    """
    if not max_row_share >= 0:  # also rejects NaN
        raise ValueError(f"max_row_share must not be negative, not {max_row_share}")
    return max(MIN_RARE_ROWS, math.ceil(round(max_row_share * row_count, 9)))


def normalize(text: str) -> tuple[str, list[tuple[int, int]] | None]:
    """NFKC then casefold, with a way back to the original characters.

    Returns the normalized text and, for each of its characters, the (start, end) of the original
    characters it came from, or None when character i simply came from character i (the common case, and
    the only one for plain ASCII). Normalization runs cluster by cluster (a character plus what combines or
    composes with it), which equals normalizing the whole string for real text and keeps offsets exact.
    """
    if unicodedata.is_normalized("NFKC", text):
        folded = text.casefold()
        if len(folded) == len(text):  # casefold never shortens a character, so this is one-to-one
            return folded, None
    pieces: list[str] = []
    origins: list[tuple[int, int]] = []
    for start, end in _clusters(text):
        piece = unicodedata.normalize("NFKC", text[start:end]).casefold()
        pieces.append(piece)
        origins.extend([(start, end)] * len(piece))
    return "".join(pieces), origins


def _clusters(text: str) -> Iterable[tuple[int, int]]:
    """Cut text where normalizing the parts separately gives the same result as normalizing them together."""
    start = 0
    for i in range(1, len(text)):
        char = text[i]
        if char.isascii():
            glued = False  # ASCII characters never combine with, or compose onto, what precedes them
        elif unicodedata.combining(char):
            glued = True
        else:
            before = text[start:i]
            glued = _nfkc(before + char) != _nfkc(before) + _nfkc(char)
        if not glued:
            yield start, i
            start = i
    if text:
        yield start, len(text)


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def tokenize(text: str) -> list[Token]:
    """Words and punctuation of the normalized text, each with its span in the ORIGINAL text."""
    normalized, origins = normalize(text)
    if origins is None:
        return [Token(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(normalized)]
    return [
        Token(m.group(), origins[m.start()][0], origins[m.end() - 1][1]) for m in _TOKEN.finditer(normalized)
    ]


def _words(text: str) -> list[str]:
    """Tokenizing without offsets: what indexing a row needs, and much cheaper than `tokenize`."""
    return _TOKEN.findall(normalize(text)[0])


class SpanIndex:
    """A word-level suffix array over a dataset's rows, answering "which parts of this text are quoted?".

    Immutable once built; safe to share between threads.
    """

    def __init__(
        self,
        vocabulary: list[str],
        tokens: np.ndarray,
        suffix_array: np.ndarray,
        row_ids: np.ndarray,
        row_starts: np.ndarray,
    ) -> None:
        """Prefer `build` or `load`; this trusts that the arrays belong together."""
        self._vocabulary = vocabulary
        self._word_ids = {word: i for i, word in enumerate(vocabulary, start=1)}
        self._tokens = tokens
        self._suffix_array = suffix_array
        self._row_ids = row_ids
        self._row_starts = row_starts
        # Suffixes are sorted by their first word, so those starting with word w are the SA range
        # [first_word_ranges[w], first_word_ranges[w + 1]): the first step of every match is free.
        counts = np.bincount(tokens, minlength=len(vocabulary) + 1)
        self._first_word_ranges = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        # memoryviews index to plain ints several times faster than numpy arrays: the search loop uses them.
        self._tokens_view = memoryview(tokens)
        self._suffix_view = memoryview(suffix_array)
        self._ranges_view = memoryview(self._first_word_ranges)

    # -- building -----------------------------------------------------------------------------------------

    @classmethod
    def build(cls, rows: Iterable[tuple[int, str]]) -> SpanIndex:
        """Index (row_id, text) pairs; an empty iterable gives an index that matches nothing."""
        word_ids: dict[str, int] = {}
        ids: list[int] = []
        row_ids: list[int] = []
        row_starts: list[int] = []
        for row_id, text in rows:
            row_ids.append(int(row_id))
            row_starts.append(len(ids))
            ids.extend([word_ids.setdefault(word, len(word_ids) + 1) for word in _words(text)])
            ids.append(SEPARATOR)
        if len(ids) >= np.iinfo(np.int32).max:
            raise ValueError(f"{len(ids)} tokens do not fit an int32 suffix array; split the dataset")
        # divsufsort writes through a ctypes view, so it needs a writable, contiguous array.
        tokens = np.array(ids, dtype=np.int32)
        suffix_array = (
            np.ascontiguousarray(divsufsort(tokens), dtype=np.int32) if len(tokens) else np.empty(0, np.int32)
        )
        return cls(
            vocabulary=list(word_ids),
            tokens=tokens,
            suffix_array=suffix_array,
            row_ids=np.array(row_ids, dtype=np.int64),
            row_starts=np.array(row_starts, dtype=np.int64),
        )

    # -- size ---------------------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._row_ids)

    @property
    def token_count(self) -> int:
        """Indexed words and punctuation marks, not counting the separators between rows."""
        return len(self._tokens) - self.row_count

    @property
    def nbytes(self) -> int:
        """Bytes of the index's arrays (in memory; on disk each .npy file adds a ~128-byte header)."""
        arrays = (self._tokens, self._suffix_array, self._row_ids, self._row_starts, self._first_word_ranges)
        return sum(array.nbytes for array in arrays)

    # -- matching -----------------------------------------------------------------------------------------

    def longest_spans(
        self,
        answer_text: str,
        min_words: int = 6,
        max_rows_per_span: int = 16,
        max_row_share: float | None = None,
        min_rare_words: int | None = None,
    ) -> list[SpanMatch]:
        """The longest non-overlapping stretches of the answer that some row contains, in answer order.

        Short matches are coincidence ("in the middle of the"), so spans under `min_words` words are
        dropped. Candidates are maximal matches (they extend neither left nor right); overlapping ones are
        resolved longest first (ties: the earlier one), because a long quote is better evidence than the
        shorter ones it overlaps, and a losing candidate is dropped whole rather than trimmed. Each span
        names at most `max_rows_per_span` rows (lowest ids first); `occurrences` and `rows` count them all.

        Rarity (`max_row_share`, None: every span counts, as before the rule existed): a candidate found in
        more than `rare_row_limit(row_count, max_row_share)` distinct rows is too common to credit. Rare
        candidates are chosen first, as above; common ones then fill only what no rare span covers and
        come back with `counted=False`. So boilerplate never blocks a rare quote that overlaps it (the rare
        quote must reach past the boilerplate, or it would be at least as common), and the receipt still
        shows the boilerplate and why it earned nothing.

        Short but telling quotes (`min_rare_words`, with `max_row_share`): a maximal match of at least
        `min_rare_words` but under `min_words` words also counts when it is rare and holds a word that is
        itself rare (in no more rows than the limit), as OLMoTrace keeps spans that are long *or* made of
        rare words. "quarry is raven walrus" names the one contributor whose rows say "raven walrus";
        "is in the box" holds no rare word and stays a coincidence.
        """
        if min_words < 1:
            raise ValueError(f"min_words must be at least 1, not {min_words}")
        if max_rows_per_span < 0:
            raise ValueError(f"max_rows_per_span must not be negative, not {max_rows_per_span}")
        limit = None if max_row_share is None else rare_row_limit(self.row_count, max_row_share)
        if min_rare_words is not None and min_rare_words < 1:
            raise ValueError(f"min_rare_words must be at least 1, not {min_rare_words}")
        tokens = tokenize(answer_text)
        word_ids = [self._word_ids.get(token.text, UNKNOWN) for token in tokens]
        matches = self._matching_statistics(word_ids)

        lengths = [length for length, _, _ in matches]
        # A match at i that the match at i - 1 contains (one word longer, same end) is not a candidate:
        # spans are maximal quotes, never pieces of one.
        maximal = [i for i in range(len(lengths)) if i == 0 or lengths[i - 1] <= lengths[i]]
        candidates = [i for i in maximal if lengths[i] >= min_words]
        rows_of: dict[int, np.ndarray] = {}

        def too_common(i: int) -> bool:
            _, lo, hi = matches[i]
            if limit is None or hi - lo <= limit:  # no more positions than the limit: no more rows either
                return False
            rows_of[i] = self._distinct_rows(lo, hi)
            return len(rows_of[i]) > limit

        common = {i for i in candidates if too_common(i)}
        if min_rare_words is not None and limit is not None:
            rare_words: dict[int, bool] = {}
            candidates += [
                i
                for i in maximal
                if min_rare_words <= lengths[i] < min_words
                and not too_common(i)
                and any(self._rare_word(w, limit, rare_words) for w in word_ids[i : i + lengths[i]])
            ]
        covered = bytearray(len(tokens))
        chosen: list[int] = []
        for pool in ([i for i in candidates if i not in common], [i for i in candidates if i in common]):
            for i in sorted(pool, key=lambda i: (-lengths[i], i)):
                length = lengths[i]
                if not any(covered[i : i + length]):
                    covered[i : i + length] = b"\x01" * length
                    chosen.append(i)

        spans = []
        for i in sorted(chosen):
            length, lo, hi = matches[i]
            start, end = tokens[i].start, tokens[i + length - 1].end
            rows = rows_of[i] if i in rows_of else self._distinct_rows(lo, hi)
            counted = i not in common
            spans.append(
                SpanMatch(
                    start=start,
                    end=end,
                    text=answer_text[start:end],
                    words=length,
                    row_ids=tuple(int(row_id) for row_id in rows[:max_rows_per_span]),
                    occurrences=hi - lo,
                    rows=len(rows),
                    counted=counted,
                    reason="" if counted else _too_common(len(rows), self.row_count, limit),
                )
            )
        return spans

    def match_lengths(self, answer_text: str) -> list[int]:
        """For each answer token, how many tokens from there on occur verbatim in some row.

        The raw matching statistics behind `longest_spans`: useful to see how much of an answer is quoted
        at all, whatever the thresholds.
        """
        ids = [self._word_ids.get(token.text, UNKNOWN) for token in tokenize(answer_text)]
        return [length for length, _, _ in self._matching_statistics(ids)]

    def _matching_statistics(self, query: list[int]) -> list[tuple[int, int, int]]:
        """(length, lo, hi) per query position: its longest match and that match's suffix-array range."""
        return [self._longest_match_at(query, i) for i in range(len(query))]

    def _longest_match_at(self, query: list[int], i: int) -> tuple[int, int, int]:
        first = query[i]
        if first <= SEPARATOR:
            return 0, 0, 0
        lo, hi = self._ranges_view[first], self._ranges_view[first + 1]
        length = 1
        while i + length < len(query) and query[i + length] > SEPARATOR:
            if hi - lo == 1:
                # One suffix left: compare it word by word instead of searching. This is what makes long
                # quotes of a single row cheap. It stops at the row's separator at the latest.
                position = self._suffix_view[lo]
                while i + length < len(query) and self._tokens_view[position + length] == query[i + length]:
                    length += 1
                break
            narrowed = self._narrow(lo, hi, length, query[i + length])
            if narrowed is None:
                break
            lo, hi = narrowed
            length += 1
        return length, lo, hi

    def _narrow(self, lo: int, hi: int, depth: int, word: int) -> tuple[int, int] | None:
        """The part of SA range [lo, hi) whose next word is `word`.

        Every suffix in the range shares its first `depth` words, so their word at `depth` is sorted across
        the range and both ends of the sub-range are a binary search away. None when no suffix continues.
        """
        tokens = self._tokens_view

        def word_at_depth(position: int) -> int:
            return tokens[position + depth]

        new_lo = bisect_left(self._suffix_view, word, lo, hi, key=word_at_depth)
        new_hi = bisect_right(self._suffix_view, word, new_lo, hi, key=word_at_depth)
        return (new_lo, new_hi) if new_lo < new_hi else None

    def _rare_word(self, word_id: int, limit: int, cache: dict[int, bool]) -> bool:
        """Whether the word occurs in at most `limit` distinct rows (cached per query)."""
        if word_id not in cache:
            length, lo, hi = self._longest_match_at([word_id], 0)
            cache[word_id] = length == 1 and (hi - lo <= limit or len(self._distinct_rows(lo, hi)) <= limit)
        return cache[word_id]

    def _distinct_rows(self, lo: int, hi: int) -> np.ndarray:
        """The sorted distinct ids of the rows holding the suffixes of SA range [lo, hi)."""
        positions = self._suffix_array[lo:hi]
        rows = np.searchsorted(self._row_starts, positions, side="right") - 1
        return np.unique(self._row_ids[rows])

    # -- persistence --------------------------------------------------------------------------------------

    def save(self, directory: str | os.PathLike[str]) -> None:
        """Write the index into `directory` (created if needed).

        Each file is written under a temporary name and renamed into place, the manifest (with every
        file's size and checksum) last: a reader sees either a complete index or one that `load` rejects,
        never a silent mix of two versions.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        contents = {f"{name}.npy": _npy_bytes(getattr(self, f"_{name}")) for name in ARRAYS}
        contents[VOCABULARY] = "\n".join(self._vocabulary).encode("utf-8")
        manifest = {
            "format": FORMAT,
            "row_count": self.row_count,
            "token_count": self.token_count,
            "vocabulary_size": len(self._vocabulary),
            "files": {
                name: {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                for name, data in contents.items()
            },
        }
        contents[MANIFEST] = json.dumps(manifest, indent=2).encode("utf-8")
        for name, data in contents.items():  # dicts keep insertion order: the manifest goes last
            replace_file_atomically(directory / name, data)

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> SpanIndex:
        """Read an index written by `save`; raises IndexCorrupt naming the file and the problem."""
        directory = Path(directory)
        manifest = _read_manifest(directory)
        names = [*(f"{name}.npy" for name in ARRAYS), VOCABULARY]
        missing = [name for name in names if name not in manifest["files"]]
        if missing:
            raise IndexCorrupt(f"{directory / MANIFEST}: does not list {', '.join(missing)}")
        contents = {name: _read_checked(directory, name, manifest["files"][name]) for name in names}
        arrays = {
            name: _npy_array(directory / f"{name}.npy", contents[f"{name}.npy"], name) for name in ARRAYS
        }
        try:
            text = contents[VOCABULARY].decode("utf-8")
        except UnicodeDecodeError as error:
            raise IndexCorrupt(f"{directory / VOCABULARY}: not UTF-8 ({error})") from error
        vocabulary = text.split("\n") if text else []
        _check_consistency(directory, manifest, vocabulary, arrays)
        return cls(vocabulary=vocabulary, **arrays)


def _too_common(rows: int, row_count: int, limit: int) -> str:
    return f"too common to credit: in {rows} of {row_count} rows, more than the {limit} a rare span may be in"


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _read_manifest(directory: Path) -> dict:
    path = directory / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise IndexCorrupt(f"{path}: missing (not a saved span index, or its save did not finish)") from error
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise IndexCorrupt(f"{path}: unreadable ({error})") from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise IndexCorrupt(f"{path}: not a {FORMAT} manifest")
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(entry, dict)
        and isinstance(entry.get("bytes"), int)
        and isinstance(entry.get("sha256"), str)
        for entry in files.values()
    ):
        raise IndexCorrupt(f"{path}: file list is malformed")
    for key in ("row_count", "token_count", "vocabulary_size"):
        if not isinstance(manifest.get(key), int):
            raise IndexCorrupt(f"{path}: {key} is missing or not an integer")
    return manifest


def _read_checked(directory: Path, name: str, entry: dict) -> bytes:
    path = directory / name
    try:
        data = path.read_bytes()
    except FileNotFoundError as error:
        raise IndexCorrupt(f"{path}: missing") from error
    except OSError as error:
        raise IndexCorrupt(f"{path}: unreadable ({error})") from error
    if len(data) != entry["bytes"]:
        raise IndexCorrupt(f"{path}: {len(data)} bytes, the manifest says {entry['bytes']} (truncated?)")
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise IndexCorrupt(f"{path}: checksum does not match the manifest (garbled or from another save)")
    return data


def _npy_array(path: Path, data: bytes, name: str) -> np.ndarray:
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise IndexCorrupt(f"{path}: not a readable .npy array ({error})") from error
    if array.ndim != 1 or array.dtype != _DTYPES[name]:
        raise IndexCorrupt(f"{path}: expected a 1-D {np.dtype(_DTYPES[name])} array, found {array.dtype}")
    return np.ascontiguousarray(array)  # native byte order and layout, as the memoryviews need


def _check_consistency(directory: Path, manifest: dict, vocabulary: list[str], arrays: dict) -> None:
    """Cheap structural checks: the checksums catch damage, these catch files that never belonged together."""
    tokens, suffix_array = arrays["tokens"], arrays["suffix_array"]
    row_ids, row_starts = arrays["row_ids"], arrays["row_starts"]

    def fail(what: str) -> None:
        raise IndexCorrupt(f"{directory}: {what}")

    if len(vocabulary) != manifest["vocabulary_size"] or len(set(vocabulary)) != len(vocabulary):
        fail(f"{VOCABULARY} does not hold {manifest['vocabulary_size']} distinct words")
    if len(row_ids) != manifest["row_count"] or len(row_starts) != len(row_ids):
        fail(f"row_ids.npy and row_starts.npy do not both hold {manifest['row_count']} rows")
    if len(tokens) != manifest["token_count"] + manifest["row_count"] or len(suffix_array) != len(tokens):
        fail("tokens.npy and suffix_array.npy do not match the manifest's token count")
    if len(tokens) == 0:
        return
    if tokens.min() < SEPARATOR or tokens.max() > len(vocabulary):
        fail(f"tokens.npy holds word ids outside the vocabulary of {len(vocabulary)}")
    separators = np.flatnonzero(tokens == SEPARATOR)
    if not np.array_equal(row_starts, np.concatenate([[0], separators[:-1] + 1])) or tokens[-1] != SEPARATOR:
        fail("row_starts.npy does not match the row separators in tokens.npy")
    if suffix_array.min() < 0 or suffix_array.max() >= len(tokens):
        fail("suffix_array.npy points outside tokens.npy")
    if not np.all(np.bincount(suffix_array, minlength=len(tokens)) == 1):
        fail("suffix_array.npy is not a permutation of the token positions")
