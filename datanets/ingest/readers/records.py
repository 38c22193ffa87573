"""What a reader yields: a record as the file held it, or the reason one could not be decoded.

Both carry the record's position (`line`) and its raw text, so a rejection can point the user at
the place in their file and hand back the text to fix.
"""

from __future__ import annotations

import json
import re
from typing import Any

ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
"""What ``errors="surrogateescape"`` makes of bytes that are not UTF-8, so readers can find them later."""


class SourceRecord:
    """One record as the file held it: usually a dict of column name to value.

    ``raw`` is the record's text as written (a JSONL line, a CSV row). Formats that have no text of
    their own (Parquet) render it as JSON, lazily, because only rejected records ever need it.
    """

    __slots__ = ("_raw", "fields", "line")

    def __init__(self, line: int, fields: Any, raw: str | None = None) -> None:
        self.line = line
        self.fields = fields
        self._raw = raw

    @property
    def raw(self) -> str:
        if self._raw is None:
            self._raw = json.dumps(self.fields, ensure_ascii=False, default=str)
        return self._raw

    def __repr__(self) -> str:
        return f"SourceRecord(line={self.line}, fields={self.fields!r})"


class UnreadableRecord:
    """A record whose bytes could not be decoded (invalid UTF-8, malformed JSON, a ragged CSV row)."""

    __slots__ = ("line", "raw", "reason")

    def __init__(self, line: int, reason: str, raw: str) -> None:
        self.line = line
        self.reason = reason
        self.raw = raw

    def __repr__(self) -> str:
        return f"UnreadableRecord(line={self.line}, reason={self.reason!r})"


ReadRecord = SourceRecord | UnreadableRecord


def invalid_utf8_reason(data: bytes, error: UnicodeDecodeError, where: str) -> str:
    """ "invalid UTF-8 at byte 7 of the line (0xff)": 1-based, as a person counts, with the culprit."""
    return _reason(error.start, data[error.start], where)


def escaped_byte_reason(text: str, where: str) -> str | None:
    """The same reason for text decoded with surrogateescape, or None when every byte was UTF-8."""
    bad = ESCAPED_BYTE.search(text)
    if bad is None:
        return None
    offset = len(text[: bad.start()].encode("utf-8", "surrogateescape"))
    return _reason(offset, ord(bad.group()) - 0xDC00, where)


def readable_text(text: str) -> str:
    """Escaped bytes shown as U+FFFD, so the rejections file is valid UTF-8 and still shows the spot."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _reason(offset: int, byte: int, where: str) -> str:
    return f"invalid UTF-8 at byte {offset + 1} of the {where} (0x{byte:02x}); save the file as UTF-8"
