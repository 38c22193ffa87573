"""Judging rows one at a time: the rules normalized content must follow, the token limit, duplicates.

`check_content` holds the rules for content however it arrived (an upload, the single-row form), and
`check_format` the datanet's expected row format; `RowValidator` adds what only an import knows: the
token limit, the hashes the datanet already holds, and the rows accepted earlier in the same file.
Each verdict is a `NormalizedRow` or a `RowRejection` whose reason is written for the person who
made the file.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from datanets.ingest.formats import ColumnMapping, normalize_record
from datanets.ingest.outcomes import NormalizedRow, RowInvalid, RowRejection
from datanets.ingest.readers.records import ReadRecord, UnreadableRecord
from datanets.row_formats import format_mismatch, row_text
from datanets.row_hashing import content_hash
from datanets.token_counting import TokenCounter

TokenCountFn = Callable[[str], int]

ROLES = ("system", "user", "assistant")


def check_content(content: Any) -> None:
    """Raise `RowInvalid` unless ``content`` is exactly one normalized row shape with usable text.

    Besides shape, types, roles and order, it refuses text no database column can hold: NUL
    characters (PostgreSQL's JSON type rejects them) and unpaired surrogates (not Unicode, and the
    content hash could not even be computed).
    """
    if not isinstance(content, dict):
        raise RowInvalid("must be an object with messages, prompt and completion, or text")
    keys = set(content)
    if keys == {"messages"}:
        _check_conversation(content["messages"])
    elif keys == {"prompt", "completion"}:
        _check_text("'prompt'", content["prompt"])
        _check_text("'completion'", content["completion"])
    elif keys == {"text"}:
        _check_text("'text'", content["text"])
    else:
        raise RowInvalid(
            f"has the fields {', '.join(sorted(map(repr, keys))) or 'none'}; a row has either 'messages', "
            "or 'prompt' and 'completion', or 'text'"
        )


def check_format(content: dict, expected: str) -> None:
    """Raise `RowInvalid` when ``content`` is not of the datanet's ``expected`` format ("" takes any)."""
    reason = format_mismatch(content, expected)
    if reason is not None:
        raise RowInvalid(reason)


def _check_text(label: str, value: Any) -> None:
    if not isinstance(value, str):
        raise RowInvalid(f"{label} must be text")
    if not value.strip():
        raise RowInvalid(f"{label} is empty")
    if "\x00" in value:
        raise RowInvalid(f"{label} contains a NUL character (\\u0000), which cannot be stored; remove it")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        code = ord(value[error.start])
        raise RowInvalid(
            f"{label} contains an unpaired surrogate (\\u{code:04x}), which is not valid Unicode"
        ) from None


def _check_conversation(messages: Any) -> None:
    if not isinstance(messages, list) or not messages:
        raise RowInvalid("'messages' must be a non-empty list")
    for number, message in enumerate(messages, start=1):
        if not isinstance(message, dict) or set(message) != {"role", "content"}:
            raise RowInvalid(f"message {number} must have exactly a role and content")
        if message["role"] not in ROLES:
            raise RowInvalid(
                f"message {number} has the role {message['role']!r}; only system, user and assistant"
            )
        _check_text(f"message {number} ({message['role']})", message["content"])
    start = 1 if messages[0]["role"] == "system" else 0
    if start == len(messages):
        raise RowInvalid(
            "the conversation has only a system message; add a user message and the assistant's reply"
        )
    for number, message in enumerate(messages[start:], start=start + 1):
        expected = "user" if (number - start) % 2 == 1 else "assistant"
        if message["role"] == "system":
            raise RowInvalid(f"message {number} is a system message; only the first message may be one")
        if message["role"] != expected:
            raise RowInvalid(
                f"message {number} is from the {message['role']} but should be from the {expected}: after an "
                "optional system message, turns alternate user, assistant, user, ..."
            )
    if messages[-1]["role"] != "assistant":
        raise RowInvalid("the conversation ends with a user message; it must end with the assistant's reply")


class RowValidator:
    """Turns records into verdicts, remembering the rows it accepted so a repeat later in the file is caught.

    Checks run cheapest first (shape, then duplicates, then tokens), and a row counts as "seen" only
    once accepted, so a copy of an over-limit row gets the same over-limit reason, not "duplicate".
    """

    def __init__(
        self,
        *,
        mapping: ColumnMapping,
        existing_hashes: Collection[str] = frozenset(),
        count_tokens: TokenCountFn | None = None,
        max_tokens: int | None = None,
        position_name: str = "line",
        expected_format: str = "",
    ) -> None:
        self.mapping = mapping
        self._expected_format = expected_format
        self._existing = existing_hashes
        self._count_tokens = count_tokens or TokenCounter(None).count
        self._max_tokens = max_tokens
        self._position_name = position_name
        self._accepted: dict[str, int] = {}

    def judge(self, record: ReadRecord) -> NormalizedRow | RowRejection:
        if isinstance(record, UnreadableRecord):
            return RowRejection(record.line, record.reason, record.raw)
        try:
            content = normalize_record(record.fields, self.mapping)
            check_content(content)
            check_format(content, self._expected_format)
        except RowInvalid as invalid:
            return RowRejection(record.line, invalid.reason, record.raw)
        digest = content_hash(content)
        if digest in self._existing:
            return RowRejection(record.line, "exact duplicate of a row already in this datanet", record.raw)
        first = self._accepted.get(digest)
        if first is not None:
            return RowRejection(
                record.line, f"exact duplicate of {self._position_name} {first} in this file", record.raw
            )
        tokens = self._count_tokens(row_text(content))
        if self._max_tokens is not None and tokens > self._max_tokens:
            return RowRejection(
                record.line,
                f"has {tokens:,} tokens, over the limit of {self._max_tokens:,}; shorten it or split it into "
                "several rows",
                record.raw,
            )
        self._accepted[digest] = record.line
        return NormalizedRow(record.line, content, digest, tokens)
