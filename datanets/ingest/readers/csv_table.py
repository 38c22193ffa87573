"""CSV (and TSV) with a header row: each later row becomes a record of column name to text.

The delimiter is sniffed from the start of the file (spreadsheets in many locales write ``;``) and
checked against the header, where a wrong guess is easiest to see. Bytes that are not UTF-8 are
carried through as escape characters and turn into a rejection of just the row that holds them.
Positions are physical line numbers, so with the header on line 1 they match a spreadsheet's row
numbers for rows without line breaks inside a cell.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from datanets.ingest.outcomes import UploadUnreadable
from datanets.ingest.readers.records import (
    ESCAPED_BYTE,
    ReadRecord,
    SourceRecord,
    UnreadableRecord,
    escaped_byte_reason,
    readable_text,
)
from datanets.ingest.upload_source import OpenedUpload

SNIFF_CHARS = 1 << 14
DELIMITERS = ",;\t|"

Dialect = type[csv.Dialect]


def read_csv(upload: OpenedUpload, *, tab_separated: bool = False) -> Iterator[ReadRecord]:
    """Yield one record per non-blank data row; rows with the wrong number of cells are rejected."""
    text = io.TextIOWrapper(upload.stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    try:
        sample = _sample(text)
        dialect = _dialect(sample, tab_separated)
        rows = csv.reader(_chain_lines(sample, text), dialect)
        header = _header(rows)
        yield from _records(rows, header, dialect)
    finally:
        text.detach()  # leave the caller's stream open


def _sample(text: io.TextIOWrapper) -> str:
    sample = text.read(SNIFF_CHARS)
    while sample.endswith("\r"):  # keep a "\r\n" together
        more = text.read(1)
        if not more:
            break
        sample += more
    return sample + text.readline()


def _chain_lines(sample: str, text: io.TextIOWrapper) -> Iterator[str]:
    yield from io.StringIO(sample, newline="")
    yield from text


def _dialect(sample: str, tab_separated: bool) -> type[csv.Dialect]:
    """Sniff only the delimiter, and check it against the header line.

    Quoting stays RFC 4180 (double quotes, doubled to escape): the sniffer's quote guesses would turn
    apostrophes in ordinary prose into quote characters.
    """
    if tab_separated:
        return csv.excel_tab
    header_line = next((line for line in sample.splitlines() if line.strip()), "")
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        delimiter = None
    if delimiter is None or delimiter not in header_line:
        counts = {candidate: header_line.count(candidate) for candidate in DELIMITERS}
        best = max(counts, key=lambda candidate: counts[candidate])
        delimiter = best if counts[best] else ","

    class SniffedDialect(csv.excel):
        pass

    SniffedDialect.delimiter = delimiter
    return SniffedDialect


def _header(rows: Any) -> list[str]:
    for cells in rows:
        if not any(cell.strip() for cell in cells):
            continue
        if any(ESCAPED_BYTE.search(cell) for cell in cells):
            raise UploadUnreadable(
                'The header row is not valid UTF-8. Save the file as UTF-8 ("CSV UTF-8") and upload it again.'
            )
        names = [cell.strip() or f"column_{index}" for index, cell in enumerate(cells, start=1)]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise UploadUnreadable(
                f"The header names the column {repeated[0]!r} more than once; give each column its own name."
            )
        return names
    raise UploadUnreadable("The CSV file has no header row and no rows: it holds only blank lines.")


def _records(rows: Any, header: list[str], dialect: Dialect) -> Iterator[ReadRecord]:
    previous_end = rows.line_num
    while True:
        start = previous_end + 1
        try:
            cells = next(rows)
        except StopIteration:
            return
        except csv.Error as error:
            previous_end = rows.line_num
            yield UnreadableRecord(start, f"not a readable CSV row: {error}", "")
            continue
        previous_end = rows.line_num
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        yield _record(start, cells, header, dialect)


def _record(line: int, cells: list[str], header: list[str], dialect: Dialect) -> ReadRecord:
    raw = _as_csv_line(cells, dialect)
    for column, cell in zip(header, cells, strict=False):
        reason = escaped_byte_reason(cell, f"value in column {column!r}")
        if reason is not None:
            return UnreadableRecord(line, reason, raw)
    if len(cells) != len(header):
        hint = (
            " (an unclosed quote may have joined the lines after it)" if any("\n" in c for c in cells) else ""
        )
        reason = f"has {len(cells)} values but the header names {len(header)} columns{hint}"
        return UnreadableRecord(line, reason, raw)
    return SourceRecord(line, dict(zip(header, cells, strict=True)), raw)


def _as_csv_line(cells: list[str], dialect: Dialect) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=dialect.delimiter, lineterminator="").writerow(cells)
    return readable_text(out.getvalue())
