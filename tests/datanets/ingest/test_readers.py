"""Each file type read into the same records, streaming, with whole-file problems reported as unreadable."""

from __future__ import annotations

import io

import pytest

from datanets.ingest import UploadUnreadable, inspect_upload, iter_validated
from tests.datanets.ingest.upload_files import (
    PROMPT_COMPLETION,
    csv_file,
    import_all,
    json_file,
    jsonl_file,
    pair,
    parquet_file,
)


# --- JSON Lines ------------------------------------------------------------------------------------
def test_jsonl_is_read_as_it_streams_not_loaded_whole(tmp_path):
    path = jsonl_file(tmp_path, [pair(number) for number in range(20_000)])
    seen: list[tuple[int, int]] = []
    verdicts = iter_validated(
        path,
        filename="rows.jsonl",
        mapping=PROMPT_COMPLETION,
        existing_hashes=frozenset(),
        count_tokens=len,
        max_tokens=None,
        on_progress=lambda done, total: seen.append((done, total)),
    )
    first = next(verdicts)
    assert first.line == 1
    done, total = seen[-1] if seen else (0, path.stat().st_size)
    assert done < total / 4  # only the first chunks were read to produce the first row
    verdicts.close()


def test_jsonl_skips_blank_lines_and_a_byte_order_mark(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"text": "one"}\r\n\r\n   \n{"text": "two"}')
    rows, rejections = import_all(path)
    assert [(row.line, row.content) for row in rows] == [(1, {"text": "one"}), (4, {"text": "two"})]
    assert rejections == []


def test_ndjson_extension_reads_as_json_lines(tmp_path):
    rows, _ = import_all(jsonl_file(tmp_path, [pair(1)], name="rows.ndjson"))
    assert rows[0].content == pair(1)


# --- JSON documents --------------------------------------------------------------------------------
def test_json_array_records_are_numbered_from_one(tmp_path):
    path = json_file(tmp_path, [pair(1), {"prompt": "", "completion": "x"}, pair(3)])
    rows, rejections = import_all(path)
    assert [row.line for row in rows] == [1, 3]
    assert [(rejection.line, rejection.reason) for rejection in rejections] == [(2, "'prompt' is empty")]
    assert inspect_upload(path, filename="rows.json").position_name == "record"


def test_json_object_with_a_data_list_streams_the_list(tmp_path):
    path = json_file(tmp_path, {"version": 2, "data": [pair(1), pair(2)], "license": "CC0"}, indent=None)
    rows, _ = import_all(path)
    assert [row.content for row in rows] == [pair(1), pair(2)]


def test_json_object_with_one_unnamed_list_of_records_reads_that_list(tmp_path):
    rows, _ = import_all(json_file(tmp_path, {"name": "squares", "questions": [pair(1), pair(2)]}))
    assert len(rows) == 2


def test_json_file_holding_one_record_imports_it(tmp_path):
    rows, _ = import_all(
        json_file(
            tmp_path,
            {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]},
        )
    )
    assert [row.line for row in rows] == [1]


def test_json_lines_saved_as_json_are_read_line_by_line(tmp_path):
    path = jsonl_file(tmp_path, [pair(1), "{broken", pair(3)], name="rows.json")
    rows, rejections = import_all(path)
    assert [row.line for row in rows] == [1, 3]
    assert rejections[0].line == 2
    assert rejections[0].reason.startswith("not valid JSON")


def test_broken_json_document_is_unreadable_with_line_and_column(tmp_path):
    path = tmp_path / "rows.json"
    path.write_text('[\n  {"text": "one"},\n  {"text": "two"\n  {"text": "three"}\n]\n', encoding="utf-8")
    with pytest.raises(UploadUnreadable, match=r"Expecting ',' delimiter at line 4, column 3"):
        import_all(path)


def test_invalid_utf8_inside_a_json_record_rejects_only_that_record(tmp_path):
    path = tmp_path / "rows.json"
    path.write_bytes(b'[{"text": "one"}, {"text": "t\xffo"}, {"text": "three"}]')
    rows, rejections = import_all(path)
    assert [row.line for row in rows] == [1, 3]
    assert rejections[0].reason == "invalid UTF-8 at byte 12 of the record (0xff); save the file as UTF-8"


def test_json_records_span_read_chunks(tmp_path):
    long_text = "word " * 40_000  # each record is bigger than a read chunk
    path = json_file(tmp_path, [{"text": long_text + str(number)} for number in range(5)] + [{"n": 12345}])
    rows, rejections = import_all(path)
    assert [len(row.content["text"]) for row in rows] == [200_001] * 5
    assert rejections[0].line == 6


def test_json_that_is_a_single_number_is_unreadable(tmp_path):
    with pytest.raises(UploadUnreadable, match="single int value, not records"):
        import_all(json_file(tmp_path, 42))


# --- CSV -------------------------------------------------------------------------------------------
def test_csv_rows_become_records_with_spreadsheet_line_numbers(tmp_path):
    path = csv_file(tmp_path, ["prompt", "completion"], [["Hi?", "Hello."], ["", "empty"], ["Bye?", "Bye."]])
    rows, rejections = import_all(path)
    assert [row.line for row in rows] == [2, 4]
    assert [(rejection.line, rejection.reason) for rejection in rejections] == [(3, "'prompt' is empty")]
    assert rejections[0].raw == ",empty"


def test_csv_delimiter_is_sniffed(tmp_path):
    path = csv_file(tmp_path, ["prompt", "completion"], [["Hi, you?", "Fine; thanks."]], delimiter=";")
    rows, _ = import_all(path)
    assert rows[0].content == {"prompt": "Hi, you?", "completion": "Fine; thanks."}


def test_tsv_is_read_with_tabs(tmp_path):
    path = csv_file(tmp_path, ["text"], [["a, b; c"]], delimiter="\t", name="rows.tsv")
    assert import_all(path)[0][0].content == {"text": "a, b; c"}


def test_csv_cell_with_line_breaks_keeps_the_line_it_starts_on(tmp_path):
    path = csv_file(tmp_path, ["prompt", "completion"], [["Two\nlines?", "Yes."], ["Next?", "Here."]])
    rows, _ = import_all(path)
    assert [(row.line, row.content["prompt"]) for row in rows] == [(2, "Two\nlines?"), (4, "Next?")]


def test_csv_row_with_too_many_values_is_rejected(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("prompt,completion\nHi?,Hello.\nWhat, then?,Nothing.\n", encoding="utf-8")
    rows, rejections = import_all(path)
    assert len(rows) == 1
    assert (rejections[0].line, rejections[0].reason) == (3, "has 3 values but the header names 2 columns")


def test_csv_cell_with_invalid_utf8_rejects_only_its_row(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_bytes(b"prompt,completion\nCaf\xe9?,Open.\nTea?,Yes.\n")
    rows, rejections = import_all(path)
    assert [row.line for row in rows] == [3]
    assert rejections[0].line == 2
    assert rejections[0].reason.startswith("invalid UTF-8 at byte 4 of the value in column 'prompt' (0xe9)")


def test_csv_header_naming_a_column_twice_is_unreadable(tmp_path):
    with pytest.raises(UploadUnreadable, match="names the column 'text' more than once"):
        import_all(csv_file(tmp_path, ["text", "text"], [["a", "b"]]))


def test_csv_with_only_a_header_is_unreadable(tmp_path):
    with pytest.raises(UploadUnreadable, match="holds no records"):
        import_all(csv_file(tmp_path, ["prompt", "completion"], []))


# --- Parquet ---------------------------------------------------------------------------------------
def test_parquet_round_trip_keeps_every_row_and_its_position(tmp_path):
    records = [pair(number) for number in range(300)]
    records[150] = {"prompt": "Hi?", "completion": None}
    rows, rejections = import_all(parquet_file(tmp_path, records))
    assert [row.content for row in rows] == records[:150] + records[151:]
    assert [(rejection.line, rejection.reason) for rejection in rejections] == [
        (151, "'completion' is empty")
    ]
    assert '"completion": null' in rejections[0].raw


def test_parquet_nested_messages_column_imports_as_chat(tmp_path):
    conversation = {
        "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]
    }
    rows, _ = import_all(parquet_file(tmp_path, [conversation]))
    assert rows[0].content == conversation


def test_file_named_parquet_that_is_not_parquet_is_unreadable(tmp_path):
    path = jsonl_file(tmp_path, [pair(1)], name="rows.parquet")
    with pytest.raises(UploadUnreadable, match="not a readable Parquet file"):
        import_all(path)


def test_parquet_is_read_from_a_file_object_too(tmp_path):
    data = parquet_file(tmp_path, [pair(1), pair(2)]).read_bytes()
    verdicts = list(
        iter_validated(
            io.BytesIO(data),
            filename="upload.parquet",
            mapping=None,
            existing_hashes=frozenset(),
            count_tokens=len,
            max_tokens=None,
        )
    )
    assert [verdict.line for verdict in verdicts] == [1, 2]


# --- Whole-file problems ---------------------------------------------------------------------------
def test_unknown_extension_is_unreadable_and_lists_the_accepted_ones(tmp_path):
    path = jsonl_file(tmp_path, [pair(1)], name="rows.txt")
    with pytest.raises(UploadUnreadable, match=r"Files ending in \.txt can't be imported: upload a \.jsonl"):
        inspect_upload(path, filename="rows.txt")


def test_empty_file_is_unreadable(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b"")
    with pytest.raises(UploadUnreadable, match="The file is empty"):
        inspect_upload(path, filename="rows.jsonl")


def test_file_of_blank_lines_is_unreadable(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b"\n\n  \n")
    with pytest.raises(UploadUnreadable, match="holds no records"):
        import_all(path)


def test_file_over_the_byte_limit_is_unreadable_with_both_sizes(tmp_path):
    path = jsonl_file(tmp_path, [pair(number) for number in range(100)])
    with pytest.raises(UploadUnreadable, match=r"The file is 6 KB; the limit is 1 KB per file"):
        inspect_upload(path, filename="rows.jsonl", max_bytes=1024)


def test_utf16_file_is_unreadable_with_the_fix(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_bytes("text\nhello\n".encode("utf-16"))
    with pytest.raises(UploadUnreadable, match=r"saved as UTF-16\. Save it as UTF-8"):
        inspect_upload(path, filename="rows.csv")
