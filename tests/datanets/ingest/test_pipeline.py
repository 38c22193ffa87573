"""The wizard's two passes: a quick preview, then the streamed import with progress and a rejections file."""

from __future__ import annotations

import io
import json
import subprocess
import sys

from datanets.ingest import NormalizedRow, RowRejection, inspect_upload, iter_validated, rejections_file
from datanets.row_formats import row_text
from datanets.row_hashing import content_hash
from datanets.token_counting import TokenCounter
from tests.datanets.ingest.upload_files import PROMPT_COMPLETION, import_all, jsonl_file, pair


def test_preview_shows_the_first_twenty_rows_and_the_rejections_among_them(tmp_path):
    records = [pair(number) if number % 10 else {"prompt": "", "completion": "x"} for number in range(1, 500)]
    preview = inspect_upload(jsonl_file(tmp_path, records), filename="rows.jsonl")
    assert len(preview.rows) == 20
    assert [rejection.line for rejection in preview.rejections] == [10, 20]
    assert preview.records_read == 22  # it stopped reading once it had 20 rows


def test_preview_counts_tokens_and_flags_existing_rows_when_asked(tmp_path):
    path = jsonl_file(tmp_path, [pair(1), pair(2)])
    preview = inspect_upload(
        path, filename="rows.jsonl", existing_hashes={content_hash(pair(2))}, count_tokens=len
    )
    assert preview.rows[0].token_count == len(row_text(pair(1)))
    assert preview.rejections[0].reason == "exact duplicate of a row already in this datanet"


def test_accepted_rows_carry_the_datanet_hash_and_token_count(tmp_path):
    counter = TokenCounter(None)
    (verdict,) = iter_validated(
        jsonl_file(tmp_path, [pair(3)]),
        filename="rows.jsonl",
        mapping=PROMPT_COMPLETION,
        existing_hashes=frozenset(),
        count_tokens=counter.count,
        max_tokens=100,
    )
    assert verdict == NormalizedRow(1, pair(3), content_hash(pair(3)), counter.count(row_text(pair(3))))


def test_progress_reaches_the_total_bytes(tmp_path):
    path = jsonl_file(tmp_path, [pair(number) for number in range(30_000)])
    reports: list[tuple[int, int]] = []
    for _ in iter_validated(
        path,
        filename="rows.jsonl",
        mapping=PROMPT_COMPLETION,
        existing_hashes=frozenset(),
        count_tokens=len,
        max_tokens=None,
        on_progress=lambda done, total: reports.append((done, total)),
    ):
        pass
    total = path.stat().st_size
    assert reports[-1] == (total, total)
    assert 10 < len(reports) <= 201
    assert [done for done, _ in reports] == sorted(done for done, _ in reports)


def test_rejections_file_is_json_lines_the_user_can_fix_and_reupload(tmp_path):
    path = jsonl_file(tmp_path, [pair(1), {"prompt": "Hi?"}, b"\xff oops"])
    _, rejections = import_all(path)
    lines = rejections_file(rejections).decode("utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [
        {"line": 2, "reason": "'completion' is missing", "raw": '{"prompt": "Hi?"}'},
        {
            "line": 3,
            "reason": "invalid UTF-8 at byte 1 of the line (0xff); save the file as UTF-8",
            "raw": "\ufffd oops",
        },
    ]


def test_rejections_file_stays_valid_utf8_with_unpaired_surrogates():
    data = rejections_file([RowRejection(1, "bad", "a\udc80b")])
    assert json.loads(data.decode("utf-8"))["raw"] == "a\udc80b"


def test_callers_file_object_stays_open_and_reusable_after_both_passes(tmp_path):
    upload = io.BytesIO(b"prompt,completion\nHi?,Hello.\n")
    preview = inspect_upload(upload, filename="rows.csv")
    verdicts = list(
        iter_validated(
            upload,
            filename="rows.csv",
            mapping=preview.mapping,
            existing_hashes=frozenset(),
            count_tokens=len,
            max_tokens=None,
        )
    )
    assert not upload.closed
    assert [verdict.line for verdict in verdicts] == [2]


def test_the_library_imports_without_django():
    """Django services call it, but it must not need Django: the benchmark and workers import it bare."""
    code = "import sys, datanets.ingest, datanets.ingest.bench_ingest; print('django' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
