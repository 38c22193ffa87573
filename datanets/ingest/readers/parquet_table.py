"""Parquet: read a batch of rows at a time with pyarrow, each row a record of column name to value.

Parquet has no lines, so a record's position is its row number (from 1). Nested columns arrive as
Python lists and dicts, so a ``messages`` column of ``list<struct<role, content>>`` works as it is.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from datanets.ingest.outcomes import UploadUnreadable
from datanets.ingest.readers.records import ReadRecord, SourceRecord, UnreadableRecord
from datanets.ingest.upload_source import OpenedUpload

BATCH_ROWS = 1024


def read_parquet(upload: OpenedUpload) -> Iterator[ReadRecord]:
    """Yield every row; a corrupt file is unreadable as a whole, a row that will not convert is rejected."""
    try:
        table = pq.ParquetFile(upload.path if upload.path is not None else upload.raw_file)
    except (pa.ArrowException, OSError, ValueError) as error:
        raise UploadUnreadable(
            f"This is not a readable Parquet file ({error}). "
            "Export it again as Parquet, or upload JSONL or CSV instead."
        ) from None
    total_rows = max(table.metadata.num_rows, 1)
    row_number = 0
    try:
        for batch in table.iter_batches(batch_size=BATCH_ROWS):
            for record in _batch_records(batch, row_number):
                row_number = record.line
                yield record
            upload.report_position(upload.total_bytes * row_number // total_rows)
    except (pa.ArrowException, OSError, ValueError) as error:
        raise UploadUnreadable(
            f"The Parquet file is damaged after row {row_number} ({error}). "
            "Export it again and upload the new file."
        ) from None


def _batch_records(batch: pa.RecordBatch, rows_before: int) -> Iterator[ReadRecord]:
    try:
        rows = batch.to_pylist()
    except (pa.ArrowException, UnicodeDecodeError, ValueError):
        yield from _row_by_row(batch, rows_before)
        return
    for offset, row in enumerate(rows, start=1):
        yield SourceRecord(rows_before + offset, row)


def _row_by_row(batch: pa.RecordBatch, rows_before: int) -> Iterator[ReadRecord]:
    """The slow path for a batch with a bad value: find the rows that hold one and reject only those."""
    for offset in range(batch.num_rows):
        try:
            (row,) = batch.slice(offset, 1).to_pylist()
        except (pa.ArrowException, UnicodeDecodeError, ValueError) as error:
            yield UnreadableRecord(rows_before + offset + 1, f"a value could not be read: {error}", "")
            continue
        yield SourceRecord(rows_before + offset + 1, row)
