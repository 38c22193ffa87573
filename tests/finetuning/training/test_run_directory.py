"""The files that make resume safe: checkpoint completeness and the metrics journal.

(Atomic publishing of the adapter and the JSON files is tested with `primitives.atomic_files`.)
"""

from __future__ import annotations

import json

from modelfactory.finetuning.training.checkpoints import (
    is_complete_checkpoint,
    last_complete_checkpoint,
    remove_incomplete_checkpoints,
)
from modelfactory.finetuning.training.metrics_journal import MetricsJournal, read_metrics_journal


def make_checkpoint(root, step, *, state=True, weights=True, state_text=None):
    path = root / f"checkpoint-{step}"
    path.mkdir(parents=True)
    if weights:
        (path / "adapter_model.safetensors").write_bytes(b"weights")
    if state:
        (path / "trainer_state.json").write_text(state_text or json.dumps({"global_step": step}))
    return path


def test_only_checkpoints_whose_state_file_was_fully_written_count(tmp_path):
    good = make_checkpoint(tmp_path, 4)
    no_state = make_checkpoint(tmp_path, 8, state=False)
    torn_state = make_checkpoint(tmp_path, 12, state_text='{"global_st')
    no_weights = make_checkpoint(tmp_path, 16, weights=False)
    wrong_step = make_checkpoint(tmp_path, 20, state_text=json.dumps({"global_step": 3}))

    assert is_complete_checkpoint(good)
    assert not any(map(is_complete_checkpoint, [no_state, torn_state, no_weights, wrong_step]))
    assert last_complete_checkpoint(tmp_path) == good
    assert len(remove_incomplete_checkpoints(tmp_path)) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-4"]


def test_checkpoints_are_ordered_by_step_number_not_by_name(tmp_path):
    make_checkpoint(tmp_path, 9)
    newest = make_checkpoint(tmp_path, 10)
    assert last_complete_checkpoint(tmp_path) == newest
    assert last_complete_checkpoint(tmp_path / "missing") is None


def test_the_journal_remembers_the_last_delivered_step_and_survives_a_torn_last_line(tmp_path):
    journal = MetricsJournal(tmp_path)
    journal.append({"step": 1, "loss": 2.0})
    journal.append({"step": 2, "loss": 1.5})
    with journal.path.open("a") as handle:
        handle.write('{"step": 3, "lo')  # killed mid-write

    reopened = MetricsJournal(tmp_path)
    assert reopened.last_step == 2
    assert reopened.already_delivered(2)
    assert not reopened.already_delivered(3)
    reopened.append({"step": 3, "loss": 1.2})
    assert [r["step"] for r in read_metrics_journal(tmp_path)] == [1, 2, 3]
