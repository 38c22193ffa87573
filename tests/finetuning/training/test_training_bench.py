"""The training-overhead benchmark runs both sides end to end and compares them on the same tokens."""

from __future__ import annotations

import json

from modelfactory.finetuning.training.bench_training import benchmark_rows, main


def test_benchmark_rows_are_single_answer_chats_so_both_sides_train_on_the_same_answer():
    rows = benchmark_rows("lumen-support", 50)

    assert len(rows) == 50
    assert [row["row_id"] for row in rows] == list(range(1, 51))
    for row in rows:
        roles = [message["role"] for message in row["messages"]]
        assert roles[-1] == "assistant"
        assert roles.count("assistant") == 1


def test_the_benchmark_trains_run_training_and_plain_trl_and_writes_its_json(tiny_base_model, tmp_path):
    output = tmp_path / "training.json"

    code = main(
        [
            "--json", str(output), "--base-model", str(tiny_base_model), "--rows", "16",
            "--steps", "2", "--repeats", "1", "--warmup-steps", "1", "--batch-size", "2",
            "--max-seq-length", "128",
        ]
    )  # fmt: skip

    assert code == 0
    report = json.loads(output.read_text())
    sides = {m["side"]: m for m in report["measurements"]}
    assert set(sides) == {"run_training", "plain_trl"}
    assert sides["run_training"]["tokens"] == sides["plain_trl"]["tokens"] == report["tokens_per_run"] > 0
    assert report["run_training_tokens_per_second"] > 0
    assert report["plain_trl_tokens_per_second"] > 0
    assert len(report["pair_ratios"]) == 1
    assert report["base_model"] == str(tiny_base_model)
