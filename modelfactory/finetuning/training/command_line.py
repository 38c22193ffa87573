"""Run one training job from files: the process a worker starts (alone, or N times under accelerate).

    python -m modelfactory.finetuning.training.command_line \\
        --spec spec.json --rows rows.jsonl --output-dir DIR [--datanets datanets.json] [--cancel-file PATH]

Used for multi-GPU jobs (see `distributed`), where the worker cannot pass Python callbacks into the
launched processes. The channels are files instead: progress is ``DIR/metrics.jsonl`` (the same
journal `run_training` always writes; the worker tails it and stores rows keyed by step), cancel is
the existence of ``--cancel-file`` (every rank polls it, so all ranks stop at the same step), and the
result is ``DIR/result.json``.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from pathlib import Path

from primitives.atomic_files import write_json_atomically

from .manifest import DatanetVersionRef
from .progress_reporting import TrainingCallbacks
from .spec import TrainingSpec
from .trainer import run_training

RESULT_FILENAME = "result.json"


def read_rows(path: Path) -> list[dict]:
    with Path(path).open() as handle:
        return [json.loads(line) for line in handle if line.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train one LoRA adapter from a spec and JSONL rows.")
    parser.add_argument("--spec", type=Path, required=True, help="TrainingSpec as JSON")
    parser.add_argument("--rows", type=Path, required=True, help="normalized rows, one JSON object a line")
    parser.add_argument("--output-dir", type=Path, required=True)
    parser.add_argument("--datanets", type=Path, help="JSON list of {datanet_id, version, merkle_root, name}")
    parser.add_argument(
        "--cancel-file", type=Path, help="training stops (with a checkpoint) once this exists"
    )
    parser.add_argument("--no-evaluate", action="store_true", help="skip the base-vs-adapter evaluation")
    args = parser.parse_args(argv)

    spec = TrainingSpec.from_json(args.spec.read_text())
    datanets = (
        [DatanetVersionRef(**ref) for ref in json.loads(args.datanets.read_text())] if args.datanets else []
    )
    cancel_file = args.cancel_file
    callbacks = TrainingCallbacks(should_cancel=(lambda: cancel_file.exists()) if cancel_file else None)
    result = run_training(
        spec,
        read_rows(args.rows),
        args.output_dir,
        callbacks=callbacks,
        datanets=datanets,
        evaluate=not args.no_evaluate,
    )
    if int(os.environ.get("RANK", "0")) == 0:
        write_json_atomically(args.output_dir / RESULT_FILENAME, result.to_json())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
