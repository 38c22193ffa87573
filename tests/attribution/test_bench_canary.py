"""The canary benchmark runs end to end on a tiny model and reports every method's recall as JSON."""

from __future__ import annotations

import json

from modelfactory.attribution.bench_canary import main, planted_rows


def test_planted_facts_belong_to_their_contributor_and_to_no_one_else():
    rows, owners, canaries = planted_rows(
        contributors=6, rows_per_contributor=2, canaries=3, repeats=2, seed=0
    )

    assert len(rows) == 6 * 2 + 3 * 2
    for canary in canaries:
        assert {owners[row] for row in canary.row_ids} == {canary.contributor}
        holders = [row["row_id"] for row in rows if canary.secret in json.dumps(row)]
        assert holders == canary.row_ids


def test_the_benchmark_reports_recall_per_method_and_the_leave_out_check(tiny_base_model, tmp_path):
    output = tmp_path / "canary.json"

    code = main(
        [
            "--base-model", str(tiny_base_model), "--contributors", "4", "--rows-per-contributor", "2",
            "--canaries", "2", "--repeats", "2", "--epochs", "1", "--leave-out", "1", "--threads", "1",
            "--leave-out-answers", "reference",
            "--work-dir", str(tmp_path / "work"), "--json", str(output),
        ]
    )  # fmt: skip

    assert code == 0
    report = json.loads(output.read_text())
    assert {"gradient/generated", "span/reference", "combined/generated"} <= set(report["recall"])
    assert "gradient:whitened_cosine/reference" in report["recall"]
    # The reference answer is the planted sentence itself: verbatim matching must name its contributor.
    assert report["recall"]["span/reference"]["top1"] == 1.0
    assert report["sketch"]["bytes_per_row"] > 0
    assert report["leave_out"][0]["answers"] == "reference"
    assert report["leave_out"][0]["rows_removed"] >= 1
    assert len(report["questions"]) == 2
