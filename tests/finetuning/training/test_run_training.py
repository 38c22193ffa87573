"""`run_training` end to end on the tiny model: it learns, it reports, it cancels, it resumes, it records.

One uninterrupted run (module-scoped) is the reference: the cancel/resume and crash/resume tests
must land on the same step count and the same adapter weights, with every step's metrics delivered
exactly once.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

from modelfactory.finetuning.training.checkpoints import is_complete_checkpoint, list_checkpoints
from modelfactory.finetuning.training.data import prepare_data
from modelfactory.finetuning.training.manifest import (
    DatanetVersionRef,
    directory_content_hash,
    reference_logits_match,
    reproduce_reference_logits,
)
from modelfactory.finetuning.training.metrics_journal import read_metrics_journal
from modelfactory.finetuning.training.progress_reporting import TrainingCallbacks
from modelfactory.finetuning.training.trainer import ResumeMismatch, TrainingResult, run_training
from primitives.file_digest import sha256_of_file

from .factories import mixed_rows, sum_format_rows, tiny_spec

STEPS = 16
DATANETS = [
    DatanetVersionRef(datanet_id=3, version=2, merkle_root="0x" + "ab" * 32, name="sums", row_count=64)
]


class SimulatedCrash(Exception):
    """Raised from a callback to stop a run the way a dying worker would: no cleanup, no final save."""


@dataclass
class Recorder:
    """Collects delivered metrics; can ask for a cancel after a given step."""

    cancel_after_step: int | None = None
    records: list[dict[str, Any]] = field(default_factory=list)

    def on_metrics(self, record: dict[str, Any]) -> None:
        self.records.append(record)

    def should_cancel(self) -> bool:
        return self.cancel_after_step is not None and any(
            r["step"] >= self.cancel_after_step for r in self.records
        )

    def callbacks(self) -> TrainingCallbacks:
        return TrainingCallbacks(on_metrics=self.on_metrics, should_cancel=self.should_cancel)

    @property
    def steps(self) -> list[int]:
        return [r["step"] for r in self.records]


def rows() -> list[dict[str, Any]]:
    return sum_format_rows(64)


@pytest.fixture(scope="module")
def spec(tiny_base_model):
    return tiny_spec(tiny_base_model, max_steps=STEPS)


@pytest.fixture(scope="module")
def reference_run(spec, tmp_path_factory) -> tuple[TrainingResult, Recorder]:
    recorder = Recorder()
    result = run_training(
        spec,
        rows(),
        tmp_path_factory.mktemp("reference") / "job",
        callbacks=recorder.callbacks(),
        datanets=DATANETS,
    )
    return result, recorder


def adapter_weights_hash(result: TrainingResult) -> str:
    return sha256_of_file(result.adapter_dir / "adapter_model.safetensors")


# --- It learns and reports -------------------------------------------------------------------------
def test_loss_falls_on_a_tiny_run_and_the_adapter_beats_the_base_on_held_out_rows(reference_run):
    result, recorder = reference_run
    losses = [r["loss"] for r in recorder.records]

    assert result.status == "completed"
    assert result.global_step == STEPS
    assert sum(losses[-4:]) / 4 < 0.6 * sum(losses[:4]) / 4
    evaluation = result.evaluation
    assert evaluation["adapter_eval_loss"] < 0.8 * evaluation["base_eval_loss"]
    assert evaluation["adapter_perplexity"] < evaluation["base_perplexity"]
    assert evaluation["eval_tokens"] > 0


def test_held_out_prompts_are_answered_by_base_and_adapter_side_by_side(reference_run):
    result, _ = reference_run
    samples = result.evaluation["samples"]

    assert len(samples) == 3
    for sample in samples:
        assert sample["prompt"][-1]["role"] == "user"
        assert re.fullmatch(r"\d+\.", sample["reference"])
        assert isinstance(sample["base_answer"], str)
        assert isinstance(sample["adapter_answer"], str)

    # The base answers in the sentence it was pre-trained on; the adapter learnt the bare "n." format.
    def in_new_format(answers):
        return sum(bool(re.fullmatch(r"\d+\.", answer)) for answer in answers)

    assert in_new_format(s["adapter_answer"] for s in samples) > in_new_format(
        s["base_answer"] for s in samples
    )


def test_every_step_delivers_one_metrics_record_with_progress_fields(reference_run):
    result, recorder = reference_run

    assert recorder.steps == list(range(1, STEPS + 1))
    for record in recorder.records:
        for key in (
            "loss",
            "learning_rate",
            "grad_norm",
            "tokens_per_second",
            "tokens_seen",
            "epoch",
            "eta_seconds",
            "elapsed_seconds",
            "max_steps",
            "progress",
        ):
            assert record[key] is not None, key
        assert record["max_steps"] == STEPS
        assert record["tokens_per_second"] > 0
    eval_steps = [r["step"] for r in recorder.records if "eval_loss" in r]
    assert eval_steps == [4, 8, 12, 16]
    assert recorder.records[-1]["progress"] == 1.0
    assert recorder.records[-1]["eta_seconds"] == 0.0
    assert [r["tokens_seen"] for r in recorder.records] == sorted(r["tokens_seen"] for r in recorder.records)
    assert read_metrics_journal(result.output_dir) == recorder.records
    assert result.final_metrics["eval_loss"] == recorder.records[-1]["eval_loss"]


# --- Its output is standard and reproducible -------------------------------------------------------
def test_adapter_loads_in_plain_peft_and_reproduces_the_manifest_reference_logits(reference_run, spec):
    result, _ = reference_run
    manifest = json.loads(result.manifest_path.read_text())
    reference = manifest["reference_logits"]
    assert {"adapter_config.json", "adapter_model.safetensors"} <= {
        p.name for p in result.adapter_dir.iterdir()
    }

    base = AutoModelForCausalLM.from_pretrained(spec.base_model)
    base_logits = reproduce_reference_logits(base, reference["input_ids"])
    model = PeftModel.from_pretrained(base, str(result.adapter_dir))
    model.eval()
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([reference["input_ids"]])).logits[0, -1]

    recorded = torch.tensor(reference["logits"])
    assert torch.allclose(logits[reference["token_ids"]], recorded, atol=1e-3)
    assert reference_logits_match(reference, model)
    # The reference really is the adapter's: the base alone gives different logits.
    assert not torch.allclose(base_logits[reference["token_ids"]], recorded, atol=1e-2)
    tokenizer = AutoTokenizer.from_pretrained(spec.base_model)
    assert tokenizer.decode(reference["input_ids"]).endswith("<|im_start|>assistant\n")


def test_manifest_records_base_data_hyperparameters_metrics_and_content_hash(reference_run, spec):
    result, _ = reference_run
    manifest = json.loads(result.manifest_path.read_text())
    tokenizer = AutoTokenizer.from_pretrained(spec.base_model)
    data = prepare_data(
        rows(),
        tokenizer,
        max_seq_length=spec.max_seq_length,
        eval_fraction=spec.eval_fraction,
        seed=spec.seed,
        batch_size=spec.batch_size,
    )

    assert manifest["base_model"]["id"] == spec.base_model
    assert manifest["base_model"]["architecture"] == "llama"
    assert (
        manifest["base_model"]["weights_sha256"]
        == directory_content_hash(Path(spec.base_model), pattern="*.safetensors")[0]
    )
    assert manifest["datanets"] == [
        {"datanet_id": 3, "version": 2, "merkle_root": "0x" + "ab" * 32, "name": "sums", "row_count": 64}
    ]
    assert manifest["training_row_ids"] == data.train_row_ids
    assert manifest["eval_row_ids"] == data.eval_row_ids
    assert sorted(manifest["training_row_ids"] + manifest["eval_row_ids"]) == list(range(1, 65))
    assert manifest["hyperparameters"] == spec.to_json()
    assert manifest["resolved"]["target_modules"] == sorted(
        ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )
    assert manifest["resolved"]["load"]["attn_implementation"] == "sdpa"
    assert manifest["metrics"]["loss"] == result.final_metrics["loss"]
    assert manifest["evaluation"]["adapter_eval_loss"] == result.evaluation["adapter_eval_loss"]
    assert manifest["project_version"]
    assert manifest["adapter"]["content_sha256"] == directory_content_hash(result.adapter_dir)[0]
    assert manifest["adapter"]["files"]["adapter_model.safetensors"] == adapter_weights_hash(result)
    # Sorted (PEFT keeps a set): equal adapters from different processes get equal content hashes.
    adapter_config = json.loads((result.adapter_dir / "adapter_config.json").read_text())
    assert adapter_config["target_modules"] == sorted(adapter_config["target_modules"])


def test_calling_again_after_completion_returns_the_finished_result_without_training(reference_run, spec):
    result, _ = reference_run
    weights_before = (result.adapter_dir / "adapter_model.safetensors").stat().st_mtime_ns
    recorder = Recorder()

    again = run_training(spec, rows(), result.output_dir, callbacks=recorder.callbacks())

    assert again.already_complete
    assert again.status == "completed"
    assert recorder.records == []
    assert again.global_step == STEPS
    assert again.final_metrics == result.final_metrics
    assert (result.adapter_dir / "adapter_model.safetensors").stat().st_mtime_ns == weights_before


def test_a_directory_holding_another_run_is_refused(reference_run, spec):
    result, _ = reference_run
    with pytest.raises(ResumeMismatch, match="different spec or different data"):
        run_training(spec.replace(rank=4), rows(), result.output_dir)
    with pytest.raises(ResumeMismatch):
        run_training(spec, rows()[:-1], result.output_dir)


# --- Cancel and resume -----------------------------------------------------------------------------
def test_cancel_stops_within_one_step_and_leaves_a_checkpoint_then_resume_finishes_like_an_uninterrupted_run(
    reference_run, spec, tmp_path
):
    reference, reference_recorder = reference_run
    job = tmp_path / "job"
    first = Recorder(cancel_after_step=5)

    cancelled = run_training(spec, rows(), job, callbacks=first.callbacks())

    # The cancel is noticed after step 5's record; at most the step in flight (6) completes.
    assert cancelled.status == "cancelled"
    assert cancelled.global_step in (5, 6)
    assert first.steps == list(range(1, cancelled.global_step + 1))
    assert cancelled.last_checkpoint.name == f"checkpoint-{cancelled.global_step}"
    assert is_complete_checkpoint(cancelled.last_checkpoint)
    assert not (job / "adapter").exists()
    assert not (job / "manifest.json").exists()

    second = Recorder()
    resumed = run_training(spec, rows(), job, callbacks=second.callbacks())

    assert resumed.status == "completed"
    assert resumed.resumed_from_step == cancelled.global_step
    assert second.steps == list(range(cancelled.global_step + 1, STEPS + 1))
    assert resumed.global_step == reference.global_step == STEPS
    assert [r["loss"] for r in first.records + second.records] == pytest.approx(
        [r["loss"] for r in reference_recorder.records], abs=1e-5
    )
    assert adapter_weights_hash(resumed) == adapter_weights_hash(reference)


def test_a_run_killed_between_checkpoints_resumes_from_the_last_one_without_repeating_metrics(
    reference_run, spec, tmp_path
):
    reference, reference_recorder = reference_run
    job = tmp_path / "job"
    delivered: list[int] = []

    def dies_at_step_7(record: dict[str, Any]) -> None:
        if record["step"] == 7:
            raise SimulatedCrash
        delivered.append(record["step"])

    with pytest.raises(SimulatedCrash):
        run_training(
            spec, rows(), job, callbacks=TrainingCallbacks(on_metrics=dies_at_step_7), evaluate=False
        )
    assert [checkpoint_dir.name for checkpoint_dir in list_checkpoints(job / "checkpoints")] == [
        "checkpoint-4"
    ]
    # A kill during the next save leaves a directory that looks newer but is not complete.
    torn = job / "checkpoints" / "checkpoint-8"
    torn.mkdir()
    (torn / "adapter_model.safetensors").write_bytes(b"half")

    resumed_recorder = Recorder()
    resumed = run_training(spec, rows(), job, callbacks=resumed_recorder.callbacks())

    assert resumed.resumed_from_step == 4  # steps 5 and 6 are trained again ...
    assert resumed_recorder.steps == list(range(7, STEPS + 1))  # ... but not delivered again
    assert sorted(delivered + resumed_recorder.steps) == list(range(1, STEPS + 1))
    assert [r["step"] for r in read_metrics_journal(job)] == list(range(1, STEPS + 1))
    assert resumed.global_step == STEPS
    assert resumed_recorder.records[-1]["loss"] == pytest.approx(
        reference_recorder.records[-1]["loss"], abs=1e-5
    )
    assert adapter_weights_hash(resumed) == adapter_weights_hash(reference)
    assert len(list_checkpoints(job / "checkpoints")) == 2  # the last two are kept


def test_a_run_killed_after_its_last_step_publishes_the_adapter_without_training_more(
    reference_run, spec, tmp_path
):
    reference, _ = reference_run
    job = tmp_path / "job"
    run_training(spec, rows(), job, evaluate=False)
    (job / "manifest.json").unlink()  # as if killed between the last checkpoint and the manifest
    recorder = Recorder()

    resumed = run_training(spec, rows(), job, callbacks=recorder.callbacks(), evaluate=False)

    assert resumed.global_step == STEPS
    assert recorder.records == []
    assert (job / "manifest.json").is_file()
    assert adapter_weights_hash(resumed) == adapter_weights_hash(reference)


# --- Other shapes and methods ----------------------------------------------------------------------
def test_mixed_row_shapes_train_with_packing(tiny_base_model, tmp_path):
    spec = tiny_spec(tiny_base_model, max_steps=3, packing=True, eval_fraction=0.0)
    result = run_training(spec, mixed_rows(), tmp_path / "job", evaluate=False)

    records = read_metrics_journal(result.output_dir)
    assert result.status == "completed"
    assert [r["step"] for r in records] == [1, 2, 3]
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in records)
    assert result.data_report["train_rows"] == len(mixed_rows())


def test_dora_trains_and_is_recorded_in_the_adapter_config(tiny_base_model, tmp_path):
    spec = tiny_spec(
        tiny_base_model, method="dora", max_steps=2, target_modules="attention", eval_fraction=0.0
    )
    result = run_training(spec, rows(), tmp_path / "job", evaluate=False)

    config = json.loads((result.adapter_dir / "adapter_config.json").read_text())
    assert config["use_dora"] is True
    assert sorted(config["target_modules"]) == ["k_proj", "o_proj", "q_proj", "v_proj"]
