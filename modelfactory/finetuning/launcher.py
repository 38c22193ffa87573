"""Training a job in a separate process (one GPU) or N processes under accelerate (DDP, N GPUs).

A worker cannot hand Python callbacks to processes it launches, so the channels are files (see
`training.command_line`): the worker writes the spec, rows and datanet refs, starts the command,
tails `metrics.jsonl` into the same per-step callback an in-process run uses, creates the cancel
file when the user cancels, and reads `result.json` at the end. The single-process form of the
command runs anywhere, so this protocol is tested here; the `accelerate launch --multi_gpu` form
needs GPUs.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from modelfactory.finetuning.training.command_line import RESULT_FILENAME
from modelfactory.finetuning.training.distributed import training_command
from modelfactory.finetuning.training.manifest import DatanetVersionRef
from modelfactory.finetuning.training.spec import TrainingSpec

POLL_S = 1.0


class LaunchedTrainingFailed(RuntimeError):
    """The training process exited with an error; the message carries the end of its output."""


def run_launched(
    *,
    spec: TrainingSpec,
    rows: list[dict],
    output_dir: Path,
    datanets: list[DatanetVersionRef],
    num_gpus: int,
    on_metrics: Callable[[dict], None],
    should_cancel: Callable[[], bool],
) -> dict:
    """Run the job's command to completion and return its `TrainingResult` as JSON."""
    output_dir.mkdir(parents=True, exist_ok=True)
    launch = output_dir / "launch"
    launch.mkdir(exist_ok=True)
    (launch / "spec.json").write_text(spec.to_json_text())
    with (launch / "rows.jsonl").open("w") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")
    (launch / "datanets.json").write_text(json.dumps([asdict(ref) for ref in datanets]))
    cancel_file = launch / "cancel"
    cancel_file.unlink(missing_ok=True)
    (output_dir / RESULT_FILENAME).unlink(missing_ok=True)
    command = training_command(
        num_gpus=num_gpus,
        spec_path=launch / "spec.json",
        rows_path=launch / "rows.jsonl",
        output_dir=output_dir,
        datanets_path=launch / "datanets.json",
        cancel_file=cancel_file,
    )
    log_path = launch / "process.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(command.argv, stdout=log, stderr=subprocess.STDOUT)
        journal = _JournalTail(output_dir / "metrics.jsonl")
        while process.poll() is None:
            time.sleep(POLL_S)
            for record in journal.new_records():
                on_metrics(record)
            if should_cancel() and not cancel_file.exists():
                cancel_file.touch()
    for record in journal.new_records():
        on_metrics(record)
    if process.returncode != 0:
        tail = log_path.read_text(errors="replace")[-2000:]
        raise LaunchedTrainingFailed(f"training exited with status {process.returncode}:\n{tail}")
    return json.loads((output_dir / RESULT_FILENAME).read_text())


class _JournalTail:
    """Reads the lines appended to the metrics journal since the last call (complete lines only)."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset = path, 0

    def new_records(self) -> list[dict]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            data = handle.read()
        complete = data[: data.rfind(b"\n") + 1]
        self.offset += len(complete)
        return [json.loads(line) for line in complete.splitlines() if line.strip()]
