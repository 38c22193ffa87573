"""Finding the checkpoint to resume from, and ignoring the half-written one a killed worker left.

The Trainer writes a checkpoint in place (weights, optimizer, scheduler, RNG state, then
``trainer_state.json`` last), so a ``kill -9`` during a save leaves a directory that *looks* like the
newest checkpoint but cannot be resumed. A checkpoint counts as complete only when its
``trainer_state.json`` parses and its adapter weights are present; incomplete ones are deleted
before resuming so that the Trainer's own rotation (keep the last 2) never counts them.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

CHECKPOINTS_DIRNAME = "checkpoints"
_CHECKPOINT_NAME = re.compile(r"^checkpoint-(\d+)$")
_WEIGHT_FILES = ("adapter_model.safetensors", "adapter_model.bin", "model.safetensors")


def checkpoint_step(path: Path) -> int | None:
    match = _CHECKPOINT_NAME.match(path.name)
    return int(match.group(1)) if match else None


def is_complete_checkpoint(path: Path) -> bool:
    """True when the Trainer finished writing ``path`` (its state file is last and must parse)."""
    state_file = path / "trainer_state.json"
    if not state_file.is_file() or not any((path / name).is_file() for name in _WEIGHT_FILES):
        return False
    try:
        state = json.loads(state_file.read_text())
    except (OSError, ValueError):
        return False
    return state.get("global_step") == checkpoint_step(path)


def list_checkpoints(checkpoints_dir: Path) -> list[Path]:
    """Checkpoint directories, oldest step first (complete or not)."""
    if not checkpoints_dir.is_dir():
        return []
    found = [p for p in checkpoints_dir.iterdir() if p.is_dir() and checkpoint_step(p) is not None]
    return sorted(found, key=lambda p: checkpoint_step(p) or 0)


def last_complete_checkpoint(checkpoints_dir: Path) -> Path | None:
    complete = [p for p in list_checkpoints(checkpoints_dir) if is_complete_checkpoint(p)]
    return complete[-1] if complete else None


def remove_incomplete_checkpoints(checkpoints_dir: Path) -> list[Path]:
    """Delete checkpoints a killed run left half-written; returns what was removed."""
    removed = []
    for path in list_checkpoints(checkpoints_dir):
        if not is_complete_checkpoint(path):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed
