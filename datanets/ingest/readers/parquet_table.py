"""Parquet: read a batch of rows at a time with pyarrow, each row a record of column name to value.

Parquet has no lines, so a record's position is its row number (from 1). Nested columns arrive as
Python lists and dicts, so a ``messages`` column of ``list<struct<role, content>>`` works as it is.

A Parquet file is compressed and encoded (dictionaries, run lengths), so 50 MB on disk can be gigabytes
in memory: enough to kill the worker reading it. Sizes are therefore checked twice against
`DecodeLimits`: from the file's metadata before any row is read (rows, uncompressed bytes, values), and
batch by batch while reading, with every text column kept dictionary-encoded until its decoded size is
counted, because one long string referenced by every row is a few bytes on disk and in the metadata.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from datanets.ingest.outcomes import UploadUnreadable
from datanets.ingest.readers.records import ReadRecord, SourceRecord, UnreadableRecord
from datanets.ingest.upload_source import DecodeLimits, OpenedUpload, describe_size

BATCH_ROWS = 1024
VALUE_BYTES = 8
"""Memory per decoded value counted from the metadata (numbers, offsets, validity): the widest fixed type."""


def read_parquet(upload: OpenedUpload) -> Iterator[ReadRecord]:
    """Yield every row; a corrupt file is unreadable as a whole, a row that will not convert is rejected."""
    source = upload.path if upload.path is not None else upload.raw_file
    try:
        metadata = pq.read_metadata(source)
        check_declared_sizes(metadata, upload.limits)
        text_columns = [
            metadata.schema.column(i).path
            for i in range(metadata.num_columns)
            if metadata.schema.column(i).physical_type == "BYTE_ARRAY"
        ]
        table = pq.ParquetFile(source, read_dictionary=text_columns)
    except (pa.ArrowException, OSError, ValueError) as error:
        raise UploadUnreadable(
            f"This is not a readable Parquet file ({error}). "
            "Export it again as Parquet, or upload JSONL or CSV instead."
        ) from None
    total_rows = max(metadata.num_rows, 1)
    row_number = decoded = 0
    try:
        for batch in table.iter_batches(batch_size=BATCH_ROWS):
            decoded += sum(decoded_bytes(column) for column in batch.columns)
            if decoded > upload.limits.max_decoded_bytes:
                raise UploadUnreadable(
                    f"The Parquet file's first {row_number + batch.num_rows:,} rows already decode to more "
                    f"than {describe_size(upload.limits.max_decoded_bytes)}, the limit per file. "
                    "Split it into smaller files."
                )
            for record in _batch_records(batch, row_number):
                row_number = record.line
                yield record
            upload.report_position(upload.total_bytes * row_number // total_rows)
    except (pa.ArrowException, OSError, ValueError) as error:
        raise UploadUnreadable(
            f"The Parquet file is damaged after row {row_number} ({error}). "
            "Export it again and upload the new file."
        ) from None


def check_declared_sizes(metadata: pq.FileMetaData, limits: DecodeLimits) -> None:
    """Refuse, from the footer alone, a file that says it holds more than a worker may decode."""
    if metadata.num_rows > limits.max_rows:
        raise UploadUnreadable(
            f"The Parquet file declares {metadata.num_rows:,} rows; the limit is {limits.max_rows:,} "
            "per file. Split it into smaller files."
        )
    row_groups = [metadata.row_group(i) for i in range(metadata.num_row_groups)]
    uncompressed = sum(
        max(
            group.total_byte_size,
            sum(group.column(c).total_uncompressed_size for c in range(group.num_columns)),
        )
        for group in row_groups
    )
    values = sum(group.column(c).num_values for group in row_groups for c in range(group.num_columns))
    if uncompressed > limits.max_decoded_bytes or values * VALUE_BYTES > limits.max_decoded_bytes:
        raise UploadUnreadable(
            f"The Parquet file declares {describe_size(max(uncompressed, values * VALUE_BYTES))} once "
            f"decompressed ({values:,} values in {metadata.num_rows:,} rows); the limit is "
            f"{describe_size(limits.max_decoded_bytes)} per file. Split it into smaller files."
        )


def decoded_bytes(array: pa.Array) -> int:
    """The bytes ``array`` takes once every dictionary is expanded, computed without expanding any."""
    if isinstance(array, pa.ChunkedArray):
        return sum(decoded_bytes(chunk) for chunk in array.chunks)
    if isinstance(array, pa.DictionaryArray):
        lengths = pc.binary_length(array.dictionary).take(array.indices)
        return int(pc.sum(lengths).as_py() or 0) + array.indices.nbytes
    if isinstance(array, pa.ListArray | pa.LargeListArray):
        return array.offsets.nbytes + decoded_bytes(array.values)
    if isinstance(array, pa.StructArray):
        return sum(decoded_bytes(array.field(i)) for i in range(array.type.num_fields))
    return array.nbytes


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
