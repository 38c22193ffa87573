"""Readers turn an upload's bytes into records, one file type per module, all streaming.

`open_records` picks the reader from the file name's extension and wraps the records so that a
file with none at all is reported as unreadable rather than imported as nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath

from datanets.ingest.outcomes import UploadUnreadable
from datanets.ingest.readers.csv_table import read_csv
from datanets.ingest.readers.json_document import open_json_document
from datanets.ingest.readers.jsonl import read_jsonl
from datanets.ingest.readers.parquet_table import read_parquet
from datanets.ingest.readers.records import ReadRecord, SourceRecord, UnreadableRecord
from datanets.ingest.upload_source import OpenedUpload

__all__ = [
    "FILE_TYPES",
    "OpenedRecords",
    "ReadRecord",
    "SourceRecord",
    "UnreadableRecord",
    "file_type_of",
    "open_records",
]

FILE_TYPES = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
}
"""Extension to file type; what the upload form's ``accept`` attribute should list."""

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass
class OpenedRecords:
    """The records of an upload, with what kind of file it was and what a position in it means."""

    file_type: str
    position_name: str
    """"line" (JSONL, CSV), "record" (a JSON array) or "row" (Parquet): how the wizard labels positions."""
    records: Iterator[ReadRecord]


def file_type_of(filename: str) -> str:
    """The file type for ``filename``'s extension, or `UploadUnreadable` naming the ones accepted."""
    suffix = PurePath(filename).suffix.lower()
    if suffix not in FILE_TYPES:
        shown = f"Files ending in {suffix}" if suffix else "Files without an extension"
        raise UploadUnreadable(f"{shown} can't be imported: upload a .jsonl, .json, .csv or .parquet file.")
    return FILE_TYPES[suffix]


def open_records(upload: OpenedUpload, *, filename: str) -> OpenedRecords:
    """Start reading ``upload`` as the type its ``filename`` says."""
    file_type = file_type_of(filename)
    if file_type != "parquet" and upload.head(2) in _UTF16_BOMS:
        raise UploadUnreadable("The file is saved as UTF-16. Save it as UTF-8 and upload it again.")
    if file_type == "jsonl":
        position_name, records = "line", read_jsonl(upload.stream)
    elif file_type == "json":
        position_name, records = open_json_document(upload)
    elif file_type == "csv":
        position_name, records = "line", read_csv(upload, tab_separated=filename.lower().endswith(".tsv"))
    else:
        position_name, records = "row", read_parquet(upload)
    return OpenedRecords(file_type, position_name, _at_least_one(records, upload))


def _at_least_one(records: Iterator[ReadRecord], upload: OpenedUpload) -> Iterator[ReadRecord]:
    count = 0
    try:
        for record in records:
            count += 1
            yield record
    finally:
        records.close()  # now, while the upload is still open, when a caller stops early
    upload.finish()
    if count == 0:
        raise UploadUnreadable(
            "The file holds no records (it has only blank lines, a header, or an empty list)."
        )
