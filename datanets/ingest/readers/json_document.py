"""JSON documents: an array of records, or an object holding the array under a key like "data".

The document is read a chunk at a time and each record is decoded as soon as it is complete, so a
50 MB array never sits in memory as one Python list. Unlike JSON Lines, a syntax error leaves no
way to tell where the next record starts, so it makes the whole file unreadable (with the line and
column to fix); invalid UTF-8 inside a record only rejects that record.

Many tools write JSON Lines under a ``.json`` name; such files are recognised by their first line
being a complete object, and read as JSON Lines.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from typing import Any

from datanets.ingest.outcomes import UploadUnreadable
from datanets.ingest.readers.jsonl import read_jsonl
from datanets.ingest.readers.records import (
    ReadRecord,
    SourceRecord,
    UnreadableRecord,
    escaped_byte_reason,
    readable_text,
)
from datanets.ingest.upload_source import OpenedUpload

CONTAINER_KEYS = frozenset({"data", "rows", "records", "examples", "items", "instances", "samples", "train"})
"""Keys under which a JSON object is taken to hold the list of records, checked case-insensitively."""

RECORD_KEYS = frozenset(
    {"messages", "conversations", "prompt", "completion", "text", "instruction", "output"}
)

CHUNK_CHARS = 1 << 16
FIRST_LINE_LIMIT = 1 << 20
"""A ``.json`` file whose first line is a complete object under this size is read as JSON Lines."""
_NOT_WHITESPACE = re.compile(r"[^ \t\n\r]")
_raw_decode = json.JSONDecoder().raw_decode


def open_json_document(upload: OpenedUpload) -> tuple[str, Iterator[ReadRecord]]:
    """Pick how to read a ``.json`` upload; returns what a position means ("record", "line"), the records."""
    first_line = _first_non_blank_line(upload)
    upload.rewind()
    if first_line.endswith(b"\n") and _is_one_line_record(first_line):
        return "line", read_jsonl(upload.stream)
    return "record", _document_records(upload)


def _first_non_blank_line(upload: OpenedUpload) -> bytes:
    budget = FIRST_LINE_LIMIT
    while budget > 0:
        line = upload.stream.readline(budget)
        if line.strip() or not line.endswith(b"\n"):
            return line
        budget -= len(line)
    return b""


def _is_one_line_record(first_line: bytes) -> bool:
    try:
        value = json.loads(first_line.decode("utf-8-sig"))
    except (ValueError, RecursionError):
        return False
    return isinstance(value, dict) and not any(
        key.lower() in CONTAINER_KEYS and isinstance(item, list) for key, item in value.items()
    )


def _document_records(upload: OpenedUpload) -> Iterator[ReadRecord]:
    text = io.TextIOWrapper(upload.stream, encoding="utf-8-sig", errors="surrogateescape")
    try:
        cursor = _TextCursor(text)
        first = cursor.peek_char()
        if first == "[":
            yield from _array_records(cursor)
        elif first == "{":
            yield from _object_records(cursor)
        else:
            value, _ = cursor.take_value()
            raise UploadUnreadable(
                f"The JSON file holds a single {type(value).__name__} value, not records. "
                "Upload an array of objects, one per row, or JSON Lines (one object per line, named .jsonl)."
            )
        if cursor.peek_char() is not None:
            raise cursor.syntax_error("there is more text after the end of the JSON document")
    finally:
        text.detach()  # leave the caller's stream open


def _array_records(cursor: _TextCursor) -> Iterator[ReadRecord]:
    cursor.skip("[")
    index = 0
    following = cursor.peek_char()
    if following == "]":
        cursor.skip("]")
        return
    while True:
        index += 1
        value, raw = cursor.take_value()
        yield _record(index, value, raw)
        following = cursor.peek_char()
        if following == ",":
            cursor.skip(",")
            continue
        if following == "]":
            cursor.skip("]")
            return
        raise cursor.syntax_error(f"expected ',' or ']' after record {index}")


def _object_records(cursor: _TextCursor) -> Iterator[ReadRecord]:
    """Stream the array under the first container key; otherwise decide once the object is read."""
    cursor.skip("{")
    kept: dict[str, Any] = {}
    streamed = False
    following = cursor.peek_char()
    while following != "}":
        if following != '"':
            raise cursor.syntax_error("expected a key in double quotes")
        key, _ = cursor.take_value()
        if cursor.peek_char() != ":":
            raise cursor.syntax_error(f"expected ':' after the key {key!r}")
        cursor.skip(":")
        if not streamed and key.lower() in CONTAINER_KEYS and cursor.peek_char() == "[":
            streamed = True
            yield from _array_records(cursor)
        else:
            value, _ = cursor.take_value()
            if not streamed:
                kept[key] = value
        following = cursor.peek_char()
        if following == ",":
            cursor.skip(",")
            following = cursor.peek_char()
        elif following != "}":
            raise cursor.syntax_error("expected ',' or '}' after a value")
    cursor.skip("}")
    if not streamed:
        yield from _records_of_object(kept)


def _records_of_object(value: dict[str, Any]) -> Iterator[ReadRecord]:
    """An object without a container key is either a wrapper around its one list of records or a record."""
    lists = [item for item in value.values() if isinstance(item, list) and item and isinstance(item[0], dict)]
    if len(lists) == 1 and not any(key.lower() in RECORD_KEYS for key in value):
        for index, element in enumerate(lists[0], start=1):
            yield SourceRecord(index, element)
    else:
        yield SourceRecord(1, value)


def _record(index: int, value: Any, raw: str) -> ReadRecord:
    reason = escaped_byte_reason(raw, "record")
    if reason is None:
        return SourceRecord(index, value, raw)
    return UnreadableRecord(index, reason, readable_text(raw))


class _TextCursor:
    """The document's text, read a chunk at a time, with a position in it.

    Only the unread part and the record being decoded are kept; text before the position is
    dropped (counting its newlines, for error messages) when the buffer is refilled.
    """

    def __init__(self, text: io.TextIOBase) -> None:
        self._text = text
        self._lines_dropped = 0
        self.buffer = ""
        self.pos = 0
        self.eof = False

    def _fill(self, at_least: int = CHUNK_CHARS) -> bool:
        if self.eof:
            return False
        chunk = self._text.read(max(at_least, CHUNK_CHARS))
        if not chunk:
            self.eof = True
            return False
        if self.pos >= CHUNK_CHARS:
            self._lines_dropped += self.buffer.count("\n", 0, self.pos)
            self.buffer = self.buffer[self.pos :]
            self.pos = 0
        self.buffer += chunk
        return True

    def peek_char(self) -> str | None:
        """Skip whitespace and return the next character, or None at the end of the file."""
        while True:
            found = _NOT_WHITESPACE.search(self.buffer, self.pos)
            if found is not None:
                self.pos = found.start()
                return self.buffer[self.pos]
            self.pos = len(self.buffer)
            if not self._fill():
                return None

    def skip(self, char: str) -> None:
        assert self.buffer[self.pos] == char
        self.pos += 1

    def take_value(self) -> tuple[Any, str]:
        """Decode the JSON value at the position, reading on for as long as the value goes on."""
        if self.peek_char() is None:
            raise self.syntax_error("the file ends in the middle of the JSON document")
        while True:
            try:
                value, end = _raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as error:
                if not self.eof and self._may_continue(error):
                    self._fill(len(self.buffer) - self.pos)
                    continue
                raise self.syntax_error(error.msg, at=error.pos) from None
            except RecursionError:
                raise self.syntax_error("a value is nested too deeply to read") from None
            except ValueError as error:  # integers of more than 4,300 digits
                raise self.syntax_error(str(error)) from None
            if end == len(self.buffer) and self._fill():
                continue  # a number at the end of a chunk may go on in the next one
            raw = self.buffer[self.pos : end]
            self.pos = end
            return value, raw

    def _may_continue(self, error: json.JSONDecodeError) -> bool:
        return error.pos >= len(self.buffer) - 16 or error.msg.startswith("Unterminated string")

    def syntax_error(self, problem: str, *, at: int | None = None) -> UploadUnreadable:
        position = self.pos if at is None else at
        line = self._lines_dropped + self.buffer.count("\n", 0, position) + 1
        column = position - self.buffer.rfind("\n", 0, position)
        return UploadUnreadable(
            f"The JSON file is not valid JSON: {problem} at line {line}, column {column}. "
            "Fix it there and upload again; if each line of the file is one record, name it .jsonl "
            "so that a broken line only rejects that line."
        )
