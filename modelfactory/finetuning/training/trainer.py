"""`run_training`: one fine-tuning job, from spec and rows to a PEFT adapter and its manifest.

TRL's SFTTrainer does the optimisation; this module adds what a job queue needs around it:

- **Idempotent and resumable.** Everything lives in ``output_dir``. Calling `run_training` again
  with the same spec and rows (a Celery redelivery after ``kill -9``, or "Resume" after "Cancel")
  continues from the last complete checkpoint, with the RNG, optimizer and scheduler state of that
  step, and ends at the same step count as an uninterrupted run. Calling it once the run completed
  returns the completed result without training. A different spec or data in the same directory is
  refused (`ResumeMismatch`) rather than silently mixed.
- **Live progress without duplicates.** One metrics record per optimizer step goes to
  ``callbacks.on_metrics`` and then to ``metrics.jsonl``; steps already journaled are not delivered
  again after a resume. Across a ``kill -9`` delivery is at-least-once (the process can die between
  the two), so store records keyed by ``step`` (unique constraint / upsert).
- **Cancel within one step.** ``callbacks.should_cancel()`` is polled after every optimizer step;
  when it returns True the Trainer writes a checkpoint at that step and stops; the result has
  ``status="cancelled"`` and a later call resumes from there.
- **Atomic outputs.** The adapter (standard PEFT files) is published into ``output_dir/adapter``
  by a rename; ``manifest.json`` is written last and marks completion.

Layout of ``output_dir``::

    run.json            spec + data fingerprint this directory belongs to
    metrics.jsonl       delivered per-step records
    checkpoints/        checkpoint-<step>/ (the last 2 kept)
    adapter/            adapter_config.json, adapter_model.safetensors
    manifest.json       written last
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from peft import set_peft_model_state_dict
from safetensors.torch import load_file as load_safetensors
from transformers import PreTrainedTokenizerBase, PrinterCallback
from trl import SFTConfig

from primitives.atomic_files import staged_directory, write_json_atomically

from .capabilities import MachineCapabilities, detect_capabilities
from .checkpoints import CHECKPOINTS_DIRNAME, last_complete_checkpoint, remove_incomplete_checkpoints
from .completion_loss import CompletionHeadSFTTrainer
from .data import PreparedData, prepare_data
from .evaluation import compare_base_and_adapter
from .manifest import (
    DatanetVersionRef,
    build_manifest,
    read_manifest,
    reference_logits,
    write_manifest,
)
from .metrics_journal import MetricsJournal, read_metrics_journal
from .model_loading import LoadPlan, attach_lora, load_base_model, load_tokenizer, plan_loading
from .progress_reporting import ProgressReporter, TrainingCallbacks
from .spec import TrainingSpec

logger = logging.getLogger(__name__)

RUN_FILENAME = "run.json"
ADAPTER_DIRNAME = "adapter"


class ResumeMismatch(RuntimeError):
    """``output_dir`` holds a run of a different spec or different data; resuming it would mix them."""


@dataclass
class TrainingResult:
    status: Literal["completed", "cancelled"]
    output_dir: Path
    global_step: int
    max_steps: int
    resumed_from_step: int
    """0 for a fresh run; the checkpoint step a resumed run continued from."""
    last_checkpoint: Path | None
    adapter_dir: Path | None = None
    manifest_path: Path | None = None
    final_metrics: dict[str, Any] = field(default_factory=dict)
    data_report: dict[str, Any] = field(default_factory=dict)
    evaluation: dict[str, Any] | None = None
    train_seconds: float = 0.0
    """Wall time of the training loop in this call (excluding loading, evaluation, saving the adapter)."""
    tokens_trained: int = 0
    """Input tokens processed by the training loop in this call (padding excluded)."""
    already_complete: bool = False
    """True when this call found a completed run and trained nothing."""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("output_dir", "last_checkpoint", "adapter_dir", "manifest_path"):
            data[key] = str(data[key]) if data[key] is not None else None
        return data


def run_identity(spec: TrainingSpec, data: PreparedData) -> str:
    """What makes two calls "the same run": the weight-relevant spec and the exact tokenized data."""
    payload = json.dumps({"spec": spec.identity(), "data": data.fingerprint}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def sft_config_for(spec: TrainingSpec, plan: LoadPlan, *, checkpoints_dir: Path, has_eval: bool) -> SFTConfig:
    """TRL arguments for a spec. Sequential sampling: rows are visited in the recorded order."""
    return SFTConfig(
        output_dir=str(checkpoints_dir),
        per_device_train_batch_size=spec.batch_size,
        per_device_eval_batch_size=spec.batch_size,
        gradient_accumulation_steps=spec.grad_accumulation,
        learning_rate=spec.learning_rate,
        lr_scheduler_type=spec.scheduler,
        warmup_steps=spec.warmup_ratio,  # a value below 1 is a fraction of the total steps
        num_train_epochs=spec.epochs,
        max_steps=spec.max_steps if spec.max_steps is not None else -1,
        weight_decay=spec.weight_decay,
        max_grad_norm=spec.max_grad_norm,
        logging_steps=1,
        save_strategy="steps",
        save_steps=spec.save_every_steps,
        save_total_limit=2,
        eval_strategy="steps" if has_eval else "no",
        eval_steps=spec.eval_every_steps if has_eval else None,
        prediction_loss_only=True,  # nothing reads eval logits; asking for them costs TRL another forward
        seed=spec.seed,
        data_seed=spec.seed,
        train_sampling_strategy="sequential",
        max_length=spec.max_seq_length,
        packing=spec.packing,
        # Our rows arrive tokenized, masked and truncated; only packing is left for TRL to do.
        dataset_kwargs={"skip_prepare_dataset": not spec.packing},
        bf16=plan.bf16,
        fp16=plan.fp16,
        use_cpu=plan.device == "cpu",
        activation_checkpointing=spec.gradient_checkpointing,
        include_num_input_tokens_seen="non_padding",
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        ddp_find_unused_parameters=False,  # every LoRA weight gets a gradient; the search only costs time
        save_only_model=False,
    )


def prepare_spec_data(
    spec: TrainingSpec, rows: Iterable[Mapping[str, Any]], tokenizer: PreTrainedTokenizerBase
) -> PreparedData:
    """The rows split, tokenized and ordered exactly as `run_training` trains on them for `spec` (the
    order depends on the batch size), for anyone who must see the same batches (the benchmark's
    plain-TRL baseline)."""
    return prepare_data(
        rows,
        tokenizer,
        max_seq_length=spec.max_seq_length,
        eval_fraction=spec.eval_fraction,
        seed=spec.seed,
        batch_size=spec.batch_size,
    )


def run_training(
    spec: TrainingSpec,
    rows: Iterable[Mapping[str, Any]],
    output_dir: Path | str,
    *,
    callbacks: TrainingCallbacks | None = None,
    datanets: Sequence[DatanetVersionRef] = (),
    evaluate: bool = True,
    held_out_prompts: int = 3,
    capabilities: MachineCapabilities | None = None,
    weights_cache_dir: Path | None = None,
) -> TrainingResult:
    """Train (or resume, or return the finished) LoRA adapter for ``spec`` on ``rows`` in ``output_dir``.

    Raises `SpecInvalid` (with the human reason) when this machine cannot run the spec, `RowInvalid`
    / `NoTrainingRows` for unusable data, and `ResumeMismatch` when ``output_dir`` belongs to another
    run. ``datanets`` is recorded in the manifest as given.
    """
    callbacks = callbacks or TrainingCallbacks()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    capabilities = capabilities or detect_capabilities()
    plan = plan_loading(spec, capabilities)
    is_main = int(os.environ.get("RANK", "0")) == 0

    rows = list(rows)
    rows_by_id = {row["row_id"]: row for row in rows if "row_id" in row}
    tokenizer = load_tokenizer(spec.base_model)
    data = prepare_spec_data(spec, rows, tokenizer)
    identity = run_identity(spec, data)
    _claim(output_dir, identity, spec, is_main=is_main)

    finished = _completed_result(output_dir, identity)
    if finished is not None:
        logger.info("run in %s already completed; nothing to train", output_dir)
        return finished

    checkpoints_dir = output_dir / CHECKPOINTS_DIRNAME
    if is_main:
        for removed in remove_incomplete_checkpoints(checkpoints_dir):
            logger.warning("removed incomplete checkpoint %s (killed while saving)", removed)
    resume_from = last_complete_checkpoint(checkpoints_dir)

    torch.manual_seed(spec.seed)  # the LoRA A matrices are drawn here: same seed, same start
    model = attach_lora(load_base_model(spec, plan), spec)
    reporter = ProgressReporter(
        callbacks, MetricsJournal(output_dir) if is_main else None, has_eval=data.eval is not None
    )
    trainer = CompletionHeadSFTTrainer(
        model=model,
        args=sft_config_for(spec, plan, checkpoints_dir=checkpoints_dir, has_eval=data.eval is not None),
        train_dataset=data.train,
        eval_dataset=data.eval,
        processing_class=tokenizer,
        callbacks=[reporter],
    )
    trainer.remove_callback(PrinterCallback)

    logger.info(
        "training %s on %d rows (%d tokens)%s",
        spec.base_model,
        len(data.train_row_ids),
        data.train_tokens,
        f", resuming from {resume_from.name}" if resume_from else "",
    )
    train_seconds, tokens_trained = 0.0, 0
    finished_at = _finished_step(resume_from) if resume_from is not None else None
    if finished_at is not None:
        # Killed after the last step but before the manifest: the final checkpoint holds the trained
        # adapter. (Resuming the Trainer from it would run one step too many.)
        _load_adapter_weights(trainer.model, resume_from)
        global_step, max_steps = finished_at
        reporter.resumed_from_step = global_step
    else:
        started = time.perf_counter()
        trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
        train_seconds = time.perf_counter() - started
        tokens_trained = int(trainer.state.num_input_tokens_seen)
        if resume_from is not None:
            tokens_trained -= _tokens_seen_at(resume_from)
        global_step, max_steps = trainer.state.global_step, trainer.state.max_steps

    result = TrainingResult(
        status="completed",
        output_dir=output_dir,
        global_step=global_step,
        max_steps=max_steps,
        resumed_from_step=reporter.resumed_from_step,
        last_checkpoint=last_complete_checkpoint(checkpoints_dir),
        data_report=data.report(),
        train_seconds=round(train_seconds, 3),
        tokens_trained=tokens_trained,
    )
    if reporter.cancelled and global_step < max_steps:
        result.status = "cancelled"
        result.final_metrics = _final_metrics(output_dir)
        logger.info("cancelled at step %d; checkpoint %s", global_step, result.last_checkpoint)
        return result
    if not is_main:
        return result

    peft_model = trainer.model
    with staged_directory(output_dir / ADAPTER_DIRNAME) as staging:
        save_adapter(peft_model, staging)
    result.adapter_dir = output_dir / ADAPTER_DIRNAME
    if evaluate:
        logger.info("evaluating base versus adapter on %d held-out rows", len(data.eval_row_ids))
        report = compare_base_and_adapter(
            peft_model, tokenizer, data, rows_by_id, prompt_count=held_out_prompts, batch_size=spec.batch_size
        )
        result.evaluation = report.to_json()
    result.final_metrics = _final_metrics(output_dir)
    manifest = build_manifest(
        base_model=spec.base_model,
        architecture=getattr(peft_model.config, "model_type", "unknown"),
        datanets=datanets,
        training_row_ids=data.train_row_ids,
        eval_row_ids=data.eval_row_ids,
        hyperparameters=spec.to_json(),
        resolved={
            "target_modules": sorted(peft_model.peft_config["default"].target_modules),
            "fan_in_fan_out": peft_model.peft_config["default"].fan_in_fan_out,
            "load": plan.to_json(),
            "max_steps": max_steps,
            "effective_batch_size": spec.effective_batch_size,
            "run_identity": identity,
        },
        data_report=data.report(),
        final_metrics=result.final_metrics,
        evaluation=result.evaluation,
        adapter_dir=result.adapter_dir,
        reference=reference_logits(peft_model, tokenizer),
        weights_cache_dir=weights_cache_dir,
    )
    result.manifest_path = write_manifest(output_dir, manifest)
    logger.info("adapter written to %s", result.adapter_dir)
    return result


def save_adapter(model: torch.nn.Module, directory: Path) -> None:
    """PEFT's standard files, with ``target_modules`` sorted so that equal adapters hash equally.

    PEFT keeps target modules in a set, whose order changes between processes (string hashing is
    randomized), which would make the manifest's content hash differ for bit-identical weights.
    """
    model.save_pretrained(directory)
    config_path = Path(directory) / "adapter_config.json"
    config = json.loads(config_path.read_text())
    if isinstance(config.get("target_modules"), list):
        config["target_modules"] = sorted(config["target_modules"])
        config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


# --- Run directory bookkeeping ---------------------------------------------------------------------
def _claim(output_dir: Path, identity: str, spec: TrainingSpec, *, is_main: bool) -> None:
    path = output_dir / RUN_FILENAME
    if path.is_file():
        try:
            recorded = json.loads(path.read_text()).get("identity")
        except ValueError:
            recorded = None
        if recorded is not None and recorded != identity:
            raise ResumeMismatch(
                f"{output_dir} holds a run with a different spec or different data; "
                "start the new run in a fresh directory (or delete this one to start over)"
            )
        if recorded == identity:
            return
    if is_main:
        write_json_atomically(path, {"identity": identity, "spec": spec.to_json()})


def _completed_result(output_dir: Path, identity: str) -> TrainingResult | None:
    manifest = read_manifest(output_dir)
    adapter_dir = output_dir / ADAPTER_DIRNAME
    if manifest is None or manifest.get("resolved", {}).get("run_identity") != identity:
        return None
    if not (adapter_dir / "adapter_config.json").is_file():
        return None
    max_steps = int(manifest["resolved"]["max_steps"])
    return TrainingResult(
        status="completed",
        output_dir=output_dir,
        global_step=max_steps,
        max_steps=max_steps,
        resumed_from_step=max_steps,
        last_checkpoint=last_complete_checkpoint(output_dir / CHECKPOINTS_DIRNAME),
        adapter_dir=adapter_dir,
        manifest_path=output_dir / "manifest.json",
        final_metrics=manifest.get("metrics", {}),
        data_report=manifest.get("data", {}),
        evaluation=manifest.get("evaluation"),
        already_complete=True,
    )


def _finished_step(checkpoint: Path) -> tuple[int, int] | None:
    """(step, max_steps) when ``checkpoint`` is the run's last step, else None."""
    try:
        state = json.loads((checkpoint / "trainer_state.json").read_text())
    except (OSError, ValueError):
        return None
    step, max_steps = state.get("global_step"), state.get("max_steps")
    if isinstance(step, int) and isinstance(max_steps, int) and max_steps > 0 and step >= max_steps:
        return step, max_steps
    return None


def _load_adapter_weights(model: torch.nn.Module, checkpoint: Path) -> None:
    set_peft_model_state_dict(model, load_safetensors(str(checkpoint / "adapter_model.safetensors")))


def _tokens_seen_at(checkpoint: Path) -> int:
    try:
        return int(
            json.loads((checkpoint / "trainer_state.json").read_text()).get("num_input_tokens_seen", 0)
        )
    except (OSError, ValueError):
        return 0


def _final_metrics(output_dir: Path) -> dict[str, Any]:
    """Last loss and last eval loss from the journal (which spans every resumed part of the run)."""
    records = read_metrics_journal(output_dir)
    final: dict[str, Any] = {}
    for record in records:
        for key in ("step", "epoch", "loss", "learning_rate", "grad_norm"):
            if key in record:
                final[key] = record[key]
        if "eval_loss" in record:
            final["eval_loss"] = record["eval_loss"]
            final["eval_step"] = record["step"]
    if records:
        final["first_loss"] = next((r["loss"] for r in records if "loss" in r), None)
        final["steps_recorded"] = len(records)
    return final
