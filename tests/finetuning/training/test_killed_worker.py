"""A training process killed with SIGKILL mid-run continues from its last checkpoint when run again.

This is the library half of the issue's ``kill -9`` requirement: a real OS process (the same entry
point a worker or `accelerate launch` runs) is killed without any chance to clean up; the next run
in the same directory resumes, ends at the planned step, and the journal holds every step once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from modelfactory.finetuning.training.checkpoints import last_complete_checkpoint
from modelfactory.finetuning.training.metrics_journal import read_metrics_journal
from modelfactory.finetuning.training.progress_reporting import TrainingCallbacks
from modelfactory.finetuning.training.trainer import run_training

from .factories import sum_format_rows, tiny_spec

STEPS = 120


def test_a_process_killed_with_sigkill_resumes_from_its_last_checkpoint_without_duplicate_metrics(
    tiny_base_model, tmp_path
):
    spec = tiny_spec(tiny_base_model, max_steps=STEPS, batch_size=2, save_every_steps=5, eval_fraction=0.0)
    rows = sum_format_rows(64)
    (tmp_path / "spec.json").write_text(spec.to_json_text())
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    job = tmp_path / "job"
    command = [
        sys.executable, "-m", "modelfactory.finetuning.training.command_line",
        "--spec", str(tmp_path / "spec.json"), "--rows", str(tmp_path / "rows.jsonl"),
        "--output-dir", str(job), "--no-evaluate",
    ]  # fmt: skip
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    worker = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while len(read_metrics_journal(job)) < 12:
            assert worker.poll() is None, worker.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the worker never reached step 12"
            time.sleep(0.01)
        worker.send_signal(signal.SIGKILL)
    finally:
        worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGKILL
    killed_at = max(r["step"] for r in read_metrics_journal(job))
    checkpoint = last_complete_checkpoint(job / "checkpoints")
    assert checkpoint is not None
    assert killed_at < STEPS
    assert not (job / "manifest.json").exists()

    delivered: list[int] = []
    result = run_training(
        spec,
        rows,
        job,
        callbacks=TrainingCallbacks(on_metrics=lambda r: delivered.append(r["step"])),
        evaluate=False,
    )

    assert result.status == "completed"
    assert result.global_step == STEPS
    assert result.resumed_from_step == int(checkpoint.name.removeprefix("checkpoint-"))
    assert delivered == list(range(killed_at + 1, STEPS + 1))
    assert [r["step"] for r in read_metrics_journal(job)] == list(range(1, STEPS + 1))
    assert (result.adapter_dir / "adapter_model.safetensors").is_file()
