"""Pre-train a causal LM on packed token blocks, on CPU, within a wall-clock budget.

The demo has to finish in minutes on a 2-core laptop-class machine, so the loop is plain PyTorch
(no Trainer overhead, no dataloader workers competing for the two cores) and plans its own
length: it times the first steps and sizes the cosine schedule to fit ``time_budget_s``. It
measures held-out perplexity before and after, because "the loss went down" on training data
proves little; a drop on held-out text is the evidence that the model learnt something.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from tqdm.auto import tqdm
from transformers import PreTrainedModel

from .thread_tuning import ThreadCountTuner

#: Called after every optimizer step with (step, loss). Raising from it aborts training, which is
#: how callers (and tests) cancel a build.
StepCallback = Callable[[int, float], None]

# Steps timed before the schedule is sized to the budget; the first step is excluded from timing
# because it pays one-off allocation costs.
_CALIBRATION_STEPS = 4
# How often (in steps) the remaining plan is re-estimated from the measured step time, so that a
# machine that slows down mid-run still ends near the budget instead of far past it.
_REPLAN_EVERY = 25


@dataclass(frozen=True)
class PretrainSettings:
    """Hyper-parameters and stopping rules; defaults suit the ~4M-parameter demo model."""

    batch_size: int = 16
    learning_rate: float = 3e-3
    min_learning_rate_ratio: float = 0.1
    weight_decay: float = 0.1
    warmup_steps: int = 20
    grad_clip_norm: float = 1.0
    max_steps: int | None = None
    time_budget_s: float | None = None
    seed: int = 0
    num_threads: int | None = None
    eval_batch_size: int = 16
    max_eval_blocks: int = 64
    progress: bool = True

    def __post_init__(self) -> None:
        if self.max_steps is None and self.time_budget_s is None:
            raise ValueError("set max_steps and/or time_budget_s, otherwise training never stops")


@dataclass(frozen=True)
class PretrainResult:
    """What a pre-training run did and how much it helped."""

    steps: int
    tokens_seen: int
    train_seconds: float
    perplexity_untrained: float
    perplexity_trained: float
    final_train_loss: float
    stopped_by: str  # "max_steps" or "time_budget"


def pretrain(
    model: PreTrainedModel,
    train_blocks: torch.Tensor,
    eval_blocks: torch.Tensor,
    settings: PretrainSettings,
    *,
    on_step: StepCallback | None = None,
) -> PretrainResult:
    """Train ``model`` in place on ``train_blocks`` and report held-out perplexity before/after."""
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(settings.num_threads or default_num_threads())
    try:
        return _pretrain(model, train_blocks, eval_blocks, settings, on_step)
    finally:
        torch.set_num_threads(previous_threads)


def default_num_threads() -> int:
    """One intra-op thread per core this process may use; hyper-threads only add contention."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not available on macOS
        return max(1, os.cpu_count() or 1)


@torch.no_grad()
def held_out_perplexity(model: PreTrainedModel, blocks: torch.Tensor, *, batch_size: int = 16) -> float:
    """Token-weighted perplexity of ``model`` over ``blocks`` (exp of mean next-token NLL)."""
    was_training = model.training
    model.eval()
    total_nll, total_tokens = 0.0, 0
    for start in range(0, len(blocks), batch_size):
        batch = blocks[start : start + batch_size]
        logits = model(input_ids=batch).logits[:, :-1, :].float()
        targets = batch[:, 1:]
        nll = nn.functional.cross_entropy(
            logits.reshape(-1, logits.size(-1)), targets.reshape(-1), reduction="sum"
        )
        total_nll += nll.item()
        total_tokens += targets.numel()
    model.train(was_training)
    return math.exp(total_nll / total_tokens)


def learning_rate_at(
    step: int, *, peak: float, warmup_steps: int, total_steps: int, min_ratio: float
) -> float:
    """Linear warmup to ``peak``, then cosine decay to ``peak * min_ratio`` at ``total_steps``."""
    if step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return peak * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def _pretrain(
    model: PreTrainedModel,
    train_blocks: torch.Tensor,
    eval_blocks: torch.Tensor,
    settings: PretrainSettings,
    on_step: StepCallback | None,
) -> PretrainResult:
    eval_blocks = eval_blocks[: settings.max_eval_blocks]
    perplexity_untrained = held_out_perplexity(model, eval_blocks, batch_size=settings.eval_batch_size)

    generator = torch.Generator().manual_seed(settings.seed)
    optimizer = _adamw(model, settings)
    batch_size = min(settings.batch_size, len(train_blocks))
    budget = settings.time_budget_s
    # Until calibrated, a budgeted run plans for the step cap (or a placeholder for the bar).
    planned_steps = settings.max_steps or 1_000
    warmup_steps = _warmup_for(settings, planned_steps)
    batches = _endless_batches(train_blocks, batch_size, generator)
    # Budgeted runs depend on wall-clock time anyway, so they may also trade bit-for-bit
    # reproducibility (thread count changes float summation order) for speed on a busy machine.
    threads = ThreadCountTuner(
        settings.num_threads or default_num_threads(),
        adaptive=settings.num_threads is None and budget is not None,
    )

    model.train()
    bar = tqdm(
        total=planned_steps, desc="pre-training", unit="step", disable=not settings.progress, leave=True
    )
    started = time.perf_counter()
    timed_from = started
    step, tokens_seen, loss_value = 0, 0, float("nan")
    try:
        while step < planned_steps:
            lr = learning_rate_at(
                step,
                peak=settings.learning_rate,
                warmup_steps=warmup_steps,
                total_steps=planned_steps,
                min_ratio=settings.min_learning_rate_ratio,
            )
            for group in optimizer.param_groups:
                group["lr"] = lr
            batch = next(batches)
            step_started = time.perf_counter()
            thread_count = threads.threads_for(step)
            loss = model(input_ids=batch, labels=batch).loss
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip_norm)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            threads.record(step, time.perf_counter() - step_started)

            step += 1
            tokens_seen += batch.numel()
            loss_value = loss.item()
            now = time.perf_counter()
            elapsed = now - started
            if step == 1:
                timed_from = now
            if budget is not None and (step == _CALIBRATION_STEPS or step % _REPLAN_EVERY == 0):
                seconds_per_step = (now - timed_from) / (step - 1)
                affordable = step + int(max(0.0, budget - elapsed) / seconds_per_step)
                planned_steps = max(step, min(settings.max_steps or affordable, affordable))
                if step == _CALIBRATION_STEPS:
                    warmup_steps = max(step, _warmup_for(settings, planned_steps))
                bar.total = planned_steps
            bar.update(1)
            bar.set_postfix(
                loss=f"{loss_value:.3f}",
                lr=f"{lr:.2e}",
                tok_s=f"{tokens_seen / elapsed:,.0f}",
                threads=thread_count,
            )
            if on_step is not None:
                on_step(step, loss_value)
            if budget is not None and elapsed >= budget:
                break
    finally:
        bar.close()
    train_seconds = time.perf_counter() - started
    stopped_by = (
        "time_budget" if budget is not None and step < (settings.max_steps or math.inf) else "max_steps"
    )

    torch.set_num_threads(threads.current)
    perplexity_trained = held_out_perplexity(model, eval_blocks, batch_size=settings.eval_batch_size)
    return PretrainResult(
        steps=step,
        tokens_seen=tokens_seen,
        train_seconds=train_seconds,
        perplexity_untrained=perplexity_untrained,
        perplexity_trained=perplexity_trained,
        final_train_loss=loss_value,
        stopped_by=stopped_by,
    )


def _warmup_for(settings: PretrainSettings, planned_steps: int) -> int:
    # Never spend more than a tenth of a short run warming up.
    return max(1, min(settings.warmup_steps, planned_steps // 10))


def _adamw(model: nn.Module, settings: PretrainSettings) -> torch.optim.AdamW:
    # Weight decay on matrices only: decaying norms' gains and biases just fights the model.
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": settings.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=settings.learning_rate,
        betas=(0.9, 0.95),
    )


def _endless_batches(blocks: torch.Tensor, batch_size: int, generator: torch.Generator):
    """Yield seeded-shuffled batches, epoch after epoch (small corpora are seen many times)."""
    while True:
        order = torch.randperm(len(blocks), generator=generator)
        for start in range(0, len(order) - batch_size + 1, batch_size):
            yield blocks[order[start : start + batch_size]]
