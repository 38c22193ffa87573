"""Factories that write upload files into a test's tmp_path, in every file type the importer reads."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from datanets.ingest import ColumnMapping, NormalizedRow, RowRejection, iter_validated

PROMPT_COMPLETION = ColumnMapping(prompt="prompt", completion="completion")


def pair(number: int) -> dict:
    return {"prompt": f"What is {number} squared?", "completion": f"{number * number}."}


def conversation(number: int, *, system: bool = False) -> dict:
    messages = [{"role": "system", "content": "You answer briefly."}] if system else []
    messages += [
        {"role": "user", "content": f"How many legs do {number} spiders have?"},
        {"role": "assistant", "content": f"{number * 8} legs."},
    ]
    return {"messages": messages}


def jsonl_file(tmp_path: Path, records: Iterable[dict | str | bytes], name: str = "rows.jsonl") -> Path:
    """One line per record: dicts are dumped as JSON, str and bytes are written as they are."""
    path = tmp_path / name
    with path.open("wb") as out:
        for record in records:
            if isinstance(record, dict):
                record = json.dumps(record, ensure_ascii=False)
            out.write((record.encode("utf-8") if isinstance(record, str) else record) + b"\n")
    return path


def json_file(tmp_path: Path, document: object, name: str = "rows.json", indent: int | None = 2) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document, indent=indent, ensure_ascii=False), encoding="utf-8")
    return path


def csv_file(
    tmp_path: Path,
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    delimiter: str = ",",
    name: str = "rows.csv",
) -> Path:
    path = tmp_path / name
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def parquet_file(
    tmp_path: Path, records: list[dict], name: str = "rows.parquet", row_group_size: int = 64
) -> Path:
    path = tmp_path / name
    pq.write_table(pa.Table.from_pylist(records), path, row_group_size=row_group_size)
    return path


def import_all(
    path: Path,
    *,
    mapping: ColumnMapping | None = None,
    existing_hashes: frozenset[str] = frozenset(),
    max_tokens: int | None = None,
    filename: str | None = None,
) -> tuple[list[NormalizedRow], list[RowRejection]]:
    """Run the whole import the way the Celery task will, counting tokens as characters."""
    rows: list[NormalizedRow] = []
    rejections: list[RowRejection] = []
    for verdict in iter_validated(
        path,
        filename=filename or path.name,
        mapping=mapping,
        existing_hashes=existing_hashes,
        count_tokens=len,
        max_tokens=max_tokens,
    ):
        (rows if isinstance(verdict, NormalizedRow) else rejections).append(verdict)
    return rows, rejections


def only_rejection(path: Path, **options) -> RowRejection:
    _, rejections = import_all(path, **options)
    assert len(rejections) == 1, rejections
    return rejections[0]
