"""The Trainer callback that turns training events into one metrics record per optimizer step.

The Trainer reports a step in pieces: ``on_step_end``, then a log with loss/lr/grad-norm, then
(on evaluation steps) a second log with the eval loss, then the checkpoint save. We gather the
pieces and deliver a single record per step as soon as it is complete, so a caller can store one
row per step. The same callback polls ``should_cancel`` after every step and, when asked, makes the
Trainer save a checkpoint at that step and stop: cancellation costs at most the step in flight.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from .metrics_journal import MetricsJournal

logger = logging.getLogger(__name__)

MetricsHandler = Callable[[dict[str, Any]], None]
CancelProbe = Callable[[], bool]
CheckpointHandler = Callable[[int, Path], None]


@dataclass
class TrainingCallbacks:
    """Hooks a caller (the Celery task) passes to `run_training`; all optional, all called in-process.

    - ``on_metrics(record)``: once per optimizer step, with ``step``, ``max_steps``, ``epoch``, ``loss``,
      ``learning_rate``, ``grad_norm``, ``tokens_per_second``, ``tokens_seen``, ``step_seconds``,
      ``elapsed_seconds``, ``eta_seconds``, ``progress`` (0..1), ``time`` (unix seconds), plus
      ``eval_loss`` on evaluation steps and ``gpu_memory_mb`` / ``gpu_max_memory_mb`` under CUDA.
      Steps already delivered before a resume are not delivered again (see `metrics_journal`).
      An exception raised here aborts training; the last checkpoint stays for a resume.
    - ``should_cancel()``: polled after every optimizer step; True → checkpoint at this step, stop.
    - ``on_checkpoint(step, path)``: after each checkpoint is fully written.
    """

    on_metrics: MetricsHandler | None = None
    should_cancel: CancelProbe | None = None
    on_checkpoint: CheckpointHandler | None = None


class ProgressReporter(TrainerCallback):
    def __init__(
        self, callbacks: TrainingCallbacks, journal: MetricsJournal | None, *, has_eval: bool
    ) -> None:
        self.callbacks = callbacks
        self.journal = journal
        self.has_eval = has_eval
        self.cancelled = False
        self.resumed_from_step = 0
        self._pending: dict[str, Any] | None = None
        self._awaiting_eval = False
        self._started = 0.0
        self._step_started = 0.0
        self._last_step_end = 0.0
        self._tokens_before = 0
        self._step_interval: float | None = None  # moving average of wall time per step, for the ETA

    # --- Trainer events --------------------------------------------------------------------------
    def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs):
        self.resumed_from_step = state.global_step
        self._started = self._last_step_end = time.perf_counter()
        if self.callbacks.should_cancel is not None and self.callbacks.should_cancel():
            self.cancelled = True
            control.should_training_stop = True

    def on_step_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs):
        self._step_started = time.perf_counter()
        self._tokens_before = state.num_input_tokens_seen

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs):
        now = time.perf_counter()
        step_seconds = now - self._step_started
        interval = now - self._last_step_end
        self._last_step_end = now
        self._step_interval = (
            interval if self._step_interval is None else 0.8 * self._step_interval + 0.2 * interval
        )
        tokens = state.num_input_tokens_seen - self._tokens_before

        final = state.global_step >= state.max_steps
        if self.callbacks.should_cancel is not None and not final and self.callbacks.should_cancel():
            self.cancelled = True
            control.should_training_stop = True
        if final or self.cancelled:
            control.should_save = (
                True  # the final step is always a checkpoint: a crash after it redoes nothing
            )
        if final and self.has_eval:
            control.should_evaluate = True
        self._awaiting_eval = bool(control.should_evaluate and self.has_eval)

        remaining = max(0, state.max_steps - state.global_step)
        self._pending = {
            "step": state.global_step,
            "max_steps": state.max_steps,
            "epoch": round(float(state.epoch or 0.0), 4),
            "progress": round(state.global_step / state.max_steps, 4) if state.max_steps else 0.0,
            "tokens_seen": int(state.num_input_tokens_seen),
            "tokens_per_second": round(tokens / step_seconds, 1) if step_seconds > 0 else None,
            "step_seconds": round(step_seconds, 4),
            "elapsed_seconds": round(now - self._started, 2),
            "eta_seconds": round(remaining * self._step_interval, 1),
            "time": round(time.time(), 3),
        }
        if torch.cuda.is_available():
            self._pending["gpu_memory_mb"] = round(torch.cuda.memory_allocated() / 2**20, 1)
            self._pending["gpu_max_memory_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)

    def on_log(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, logs=None, **kwargs
    ):
        if self._pending is None or not logs or state.global_step != self._pending["step"]:
            return
        if "loss" in logs:
            for key in ("loss", "learning_rate", "grad_norm"):
                if key in logs:
                    self._pending[key] = _plain(logs[key])
            if not self._awaiting_eval:
                self._deliver(state)
        elif "eval_loss" in logs:
            self._pending["eval_loss"] = _plain(logs["eval_loss"])
            self._deliver(state)

    def on_save(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs):
        if self.callbacks.on_checkpoint is not None and state.is_world_process_zero:
            path = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            self.callbacks.on_checkpoint(state.global_step, path)

    # --- Delivery --------------------------------------------------------------------------------
    def _deliver(self, state: TrainerState) -> None:
        record, self._pending = self._pending, None
        if record is None or not state.is_world_process_zero:
            return
        if self.journal is not None and self.journal.already_delivered(record["step"]):
            return
        if self.callbacks.on_metrics is not None:
            self.callbacks.on_metrics(dict(record))
        if self.journal is not None:
            self.journal.append(record)


def _plain(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        value = value.item()
    return round(value, 6) if isinstance(value, float) else value
