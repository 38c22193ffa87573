"""Property tests: no bytes crash the importer, and every record of a file is accounted for exactly once."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datanets.ingest import (
    ColumnMapping,
    NormalizedRow,
    RowRejection,
    UploadUnreadable,
    check_content,
    inspect_upload,
    iter_validated,
)
from datanets.row_hashing import content_hash

# INGEST_EXAMPLES=3000 searches harder (about a minute); the default keeps the suite quick.
PROPERTY_SETTINGS = settings(
    max_examples=int(os.environ.get("INGEST_EXAMPLES", "120")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
MAPPINGS = st.sampled_from(
    [
        None,
        ColumnMapping(prompt="prompt", completion="completion"),
        ColumnMapping(messages="messages"),
        ColumnMapping(instruction="instruction", input="input", output="output"),
        ColumnMapping(text="text"),
    ]
)
KEYS = st.sampled_from(
    [
        "prompt",
        "completion",
        "text",
        "messages",
        "conversations",
        "instruction",
        "input",
        "output",
        "role",
        "content",
        "from",
        "value",
        "data",
        "x",
    ]
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(KEYS | st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)
chat_turns = st.lists(
    st.fixed_dictionaries(
        {
            "role": st.sampled_from(["system", "user", "assistant", "tool", "human"]),
            "content": st.text(max_size=10),
        }
    ),
    max_size=5,
)
plausible_records = st.one_of(
    st.fixed_dictionaries({"prompt": st.text(max_size=15), "completion": st.text(max_size=15)}),
    st.fixed_dictionaries({"messages": chat_turns}),
    st.fixed_dictionaries({"text": st.text(max_size=15)}),
    st.dictionaries(KEYS, json_values, max_size=4),
)


def run_import(data: bytes, filename: str, mapping: ColumnMapping | None):
    """Both passes over ``data``; returns the import's verdicts, or None if the file was unreadable."""
    with contextlib.suppress(UploadUnreadable):
        inspect_upload(io.BytesIO(data), filename=filename, mapping=mapping)
    try:
        verdicts = list(
            iter_validated(
                io.BytesIO(data),
                filename=filename,
                mapping=mapping,
                existing_hashes=frozenset(),
                count_tokens=len,
                max_tokens=60,
            )
        )
    except UploadUnreadable:
        return None
    for verdict in verdicts:
        assert isinstance(verdict, NormalizedRow | RowRejection)
        if isinstance(verdict, NormalizedRow):  # never a partial row: complete, valid, hashed as stored
            check_content(verdict.content)
            assert verdict.content_hash == content_hash(verdict.content)
        else:
            assert verdict.reason
            verdict.raw.encode("utf-8")  # the rejections file can hold it
    return verdicts


def valid_file(records: list, file_type: str) -> bytes:
    if file_type == "jsonl":
        return b"".join(json.dumps(record).encode() + b"\n" for record in records)
    if file_type == "json":
        return json.dumps({"data": records}, indent=1).encode()
    if file_type == "csv":
        out = io.StringIO(newline="")
        writer = csv.writer(out)
        writer.writerow(["prompt", "completion"])
        writer.writerows([str(record.get("prompt")), str(record.get("completion"))] for record in records)
        return out.getvalue().encode()
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist([{"prompt": str(r), "completion": "ok"} for r in records]), sink)
    return sink.getvalue()


@st.composite
def damaged_files(draw) -> tuple[bytes, str]:
    """A good file of each type with a few bytes replaced, inserted or cut: the damage real uploads have."""
    file_type = draw(st.sampled_from(["jsonl", "json", "csv", "parquet"]))
    data = bytearray(valid_file(draw(st.lists(plausible_records, min_size=1, max_size=6)), file_type))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["replace", "insert", "truncate"]))
        if action == "truncate":
            del data[at:]
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif at < len(data):
            data[at] = draw(st.integers(0, 255))
    return bytes(data), f"x.{file_type}"


@PROPERTY_SETTINGS
@given(
    data=st.binary(max_size=400),
    filename=st.sampled_from(["x.jsonl", "x.json", "x.csv", "x.parquet"]),
    mapping=MAPPINGS,
)
def test_arbitrary_bytes_never_crash_the_importer(data, filename, mapping):
    run_import(data, filename, mapping)


@PROPERTY_SETTINGS
@given(damaged=damaged_files(), mapping=MAPPINGS)
def test_damaged_files_never_crash_the_importer(damaged, mapping):
    data, filename = damaged
    run_import(data, filename, mapping)


@PROPERTY_SETTINGS
@given(
    lines=st.lists(
        st.one_of(
            plausible_records.map(json.dumps),
            st.binary(max_size=30).filter(lambda b: b"\n" not in b),
            st.text(max_size=20).filter(lambda t: "\n" not in t),
        ),
        max_size=25,
    ),
    mapping=MAPPINGS,
)
def test_every_jsonl_line_ends_accepted_or_rejected_exactly_once(lines, mapping):
    encoded = [line if isinstance(line, bytes) else line.encode("utf-8") for line in lines]
    data = b"\n".join(encoded)
    verdicts = run_import(data, "x.jsonl", mapping)
    if data.startswith(b"\xef\xbb\xbf"):
        encoded[0] = encoded[0][3:]
    expected = [number for number, line in enumerate(encoded, start=1) if line.strip()]
    if verdicts is None:  # unreadable only as a whole: no records, UTF-16, or no columns to detect
        assert not expected or data[:2] in (b"\xff\xfe", b"\xfe\xff") or mapping is None
        return
    assert [verdict.line for verdict in verdicts] == expected


@PROPERTY_SETTINGS
@given(
    records=st.lists(plausible_records, min_size=1, max_size=25),
    indent=st.sampled_from([None, 1]),
    wrapped=st.booleans(),
    mapping=MAPPINGS,
)
def test_every_json_array_record_ends_accepted_or_rejected_exactly_once(records, indent, wrapped, mapping):
    document = {"meta": {"n": len(records)}, "rows": records} if wrapped else records
    verdicts = run_import(json.dumps(document, indent=indent).encode("utf-8"), "x.json", mapping)
    if verdicts is None:
        assert mapping is None  # detection found no columns to map
        return
    assert [verdict.line for verdict in verdicts] == list(range(1, len(records) + 1))


cells = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)


@PROPERTY_SETTINGS
@given(
    rows=st.lists(st.tuples(cells, cells, cells), min_size=1, max_size=20),
    delimiter=st.sampled_from([",", ";", "\t"]),
)
def test_every_csv_row_ends_accepted_or_rejected_exactly_once(rows, delimiter):
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(["prompt", "completion", "id"])
    writer.writerows(rows)
    mapping = ColumnMapping(prompt="prompt", completion="completion")
    verdicts = run_import(out.getvalue().encode("utf-8"), "x.csv", mapping)
    assert verdicts is not None
    assert len(verdicts) == len(rows)
    assert len({verdict.line for verdict in verdicts}) == len(rows)
    accepted = {verdict.line: verdict.content for verdict in verdicts if isinstance(verdict, NormalizedRow)}
    for content in accepted.values():  # what was accepted is the text as written, not a mangled version
        assert (content["prompt"], content["completion"]) in {
            (prompt, completion) for prompt, completion, _ in rows
        }
