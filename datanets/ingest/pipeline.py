"""The two passes the upload wizard makes over a file: a preview, then the full validated import.

`inspect_upload` reads only as far as it needs (the first records for detection, then up to
`sample` accepted rows) so the preview is instant even for a 50 MB file. `iter_validated` streams
every record to a verdict; the caller (a Django service inside one transaction) decides whether to
keep the valid rows or nothing, and offers the rejections as a download via `rejections_file`.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from itertools import chain, islice
from typing import Any

from datanets.ingest.formats import (
    DETECTION_SAMPLE,
    ColumnMapping,
    FormatGuess,
    SourceFormat,
    columns_of,
    detect_format,
)
from datanets.ingest.outcomes import NormalizedRow, RowRejection, UploadUnreadable
from datanets.ingest.readers import SourceRecord, open_records
from datanets.ingest.upload_source import (
    DEFAULT_MAX_BYTES,
    DecodeLimits,
    ProgressCallback,
    UploadLike,
    open_upload,
)
from datanets.ingest.validation import RowValidator, TokenCountFn

PREVIEW_RECORD_LIMIT = 2_000
"""The preview stops reading here even with fewer than `sample` good rows: it is a look, not an import."""
PREVIEW_EXAMPLES = 5


@dataclass(frozen=True)
class UploadPreview:
    """What the wizard shows before anything is written: format, mapping, a sample of rows and rejections."""

    filename: str
    file_type: str
    position_name: str
    guess: FormatGuess
    mapping: ColumnMapping | None
    """The mapping applied to the sample: the one given, else the detected one; None when none fits."""
    columns: tuple[str, ...]
    ignored_columns: tuple[str, ...]
    rows: tuple[NormalizedRow, ...]
    rejections: tuple[RowRejection, ...]
    examples: tuple[Any, ...]
    """The first records as the file holds them, to show next to the column-mapping form."""
    records_read: int
    total_bytes: int

    @property
    def detected_format(self) -> SourceFormat | None:
        return self.guess.format

    @property
    def explanation(self) -> str:
        return self.guess.explanation

    @property
    def needs_mapping(self) -> bool:
        """True when the wizard must ask the user which column is which before it can import."""
        return self.mapping is None


def inspect_upload(
    source: UploadLike,
    *,
    filename: str,
    mapping: ColumnMapping | None = None,
    sample: int = 20,
    existing_hashes: Collection[str] = frozenset(),
    count_tokens: TokenCountFn | None = None,
    max_tokens: int | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    expected_format: str = "",
    limits: DecodeLimits | None = None,
) -> UploadPreview:
    """Detect the format and normalize the first ``sample`` rows, reading no further than that needs.

    Raises `UploadUnreadable` for problems with the whole file. Without ``count_tokens`` token counts
    are the one-per-four-bytes estimate; without ``max_tokens`` no limit applies in the preview.
    ``expected_format`` (a `row_formats` name, "" for any) rejects rows of another format. ``limits``
    bound what a compressed file may decode to (checked from its metadata before reading).
    """
    with open_upload(source, max_bytes=max_bytes, limits=limits) as upload:
        opened = open_records(upload, filename=filename)
        with closing(opened.records) as records:
            head = list(islice(records, DETECTION_SAMPLE))
            head_fields = [record.fields for record in head if isinstance(record, SourceRecord)]
            guess = detect_format(head_fields)
            applied = mapping or guess.mapping
            rows: list[NormalizedRow] = []
            rejections: list[RowRejection] = []
            read = len(head)
            if applied is not None:
                validator = RowValidator(
                    mapping=applied,
                    existing_hashes=existing_hashes,
                    count_tokens=count_tokens,
                    max_tokens=max_tokens,
                    position_name=opened.position_name,
                    expected_format=expected_format,
                )
                read = 0
                for record in chain(head, records):
                    read += 1
                    verdict = validator.judge(record)
                    if isinstance(verdict, NormalizedRow):
                        rows.append(verdict)
                    elif len(rejections) < sample:
                        rejections.append(verdict)
                    if len(rows) >= sample or read >= PREVIEW_RECORD_LIMIT:
                        break
        columns = columns_of(head_fields)
        used = set(applied.columns.values()) if applied is not None else set()
        return UploadPreview(
            filename=filename,
            file_type=opened.file_type,
            position_name=opened.position_name,
            guess=guess,
            mapping=applied,
            columns=tuple(columns),
            ignored_columns=tuple(column for column in columns if applied is not None and column not in used),
            rows=tuple(rows),
            rejections=tuple(rejections),
            examples=tuple(head_fields[:PREVIEW_EXAMPLES]),
            records_read=read,
            total_bytes=upload.total_bytes,
        )


def iter_validated(
    source: UploadLike,
    *,
    filename: str,
    mapping: ColumnMapping | None,
    existing_hashes: Collection[str],
    count_tokens: TokenCountFn,
    max_tokens: int | None,
    on_progress: ProgressCallback | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    expected_format: str = "",
    limits: DecodeLimits | None = None,
) -> Iterator[NormalizedRow | RowRejection]:
    """Yield one verdict per record of the file, in file order, holding only the current record in memory.

    ``mapping`` is what the user confirmed in the wizard; None detects it as the preview did. May raise
    `UploadUnreadable` at any point while iterating (for example a JSON document broken half way), so
    the caller must write the accepted rows in one transaction and roll back on it.
    ``on_progress(bytes_read, total_bytes)`` is called as the file is read, for a progress bar.
    ``expected_format`` (a `row_formats` name, "" for any) turns rows of another format into rejections.
    """
    with open_upload(source, max_bytes=max_bytes, on_progress=on_progress, limits=limits) as upload:
        opened = open_records(upload, filename=filename)
        with closing(opened.records) as records:
            stream: Iterable = records
            if mapping is None:
                head = list(islice(records, DETECTION_SAMPLE))
                guess = detect_format([record.fields for record in head if isinstance(record, SourceRecord)])
                if guess.mapping is None:
                    raise UploadUnreadable(f"Could not tell which columns hold the rows. {guess.explanation}")
                mapping = guess.mapping
                stream = chain(head, records)
            validator = RowValidator(
                mapping=mapping,
                existing_hashes=existing_hashes,
                count_tokens=count_tokens,
                max_tokens=max_tokens,
                position_name=opened.position_name,
                expected_format=expected_format,
            )
            for record in stream:
                yield validator.judge(record)


def rejections_file(rejections: Iterable[RowRejection]) -> bytes:
    """The rejected rows as JSON Lines (``line``, ``reason``, ``raw``) for the user to download and fix."""
    lines = (
        json.dumps(
            {"line": rejection.line, "reason": rejection.reason, "raw": rejection.raw}, ensure_ascii=False
        )
        for rejection in rejections
    )
    # backslashreplace keeps any unpaired surrogate as a JSON escape, so the file stays valid UTF-8 and JSON.
    return "".join(line + "\n" for line in lines).encode("utf-8", "backslashreplace")
