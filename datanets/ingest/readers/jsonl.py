"""JSON Lines: one record per line, read line by line so memory stays flat however long the file.

Blank lines are not records (editors leave them at the end). A line that is not valid UTF-8 or not
valid JSON becomes a per-line rejection with the decoder's own message, so one broken line never
costs the user the rest of their file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import BinaryIO

from datanets.ingest.readers.records import ReadRecord, SourceRecord, UnreadableRecord, invalid_utf8_reason

UTF8_BOM = b"\xef\xbb\xbf"

_decode_json = json.JSONDecoder().decode


def read_jsonl(stream: BinaryIO) -> Iterator[ReadRecord]:
    """Yield each non-blank line's record; the line number is the line in the file (from 1)."""
    for line_number, data in enumerate(stream, start=1):
        if line_number == 1 and data.startswith(UTF8_BOM):
            data = data[len(UTF8_BOM) :]
        if not data.strip():
            continue
        data = data.rstrip(b"\r\n")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            yield UnreadableRecord(
                line_number, invalid_utf8_reason(data, error, "line"), data.decode("utf-8", "replace")
            )
            continue
        yield parse_json_record(line_number, text)


def parse_json_record(line_number: int, text: str) -> ReadRecord:
    """One JSON value as a record, or the parser's complaint about it in words."""
    try:
        return SourceRecord(line_number, _decode_json(text), text)
    except json.JSONDecodeError as error:
        return UnreadableRecord(line_number, f"not valid JSON: {error.msg} (column {error.colno})", text)
    except RecursionError:
        return UnreadableRecord(line_number, "not valid JSON: nested too deeply to read", text)
    except ValueError as error:  # integers of more than 4,300 digits
        return UnreadableRecord(line_number, f"not valid JSON: {error}", text)
