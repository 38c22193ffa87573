"""Pre-train the tiny model on packed token blocks, on CPU, for a fixed number of steps.

The loop is plain PyTorch (no Trainer overhead, no dataloader workers) because a test session
waits for it. A fixed step count keeps builds bit-for-bit reproducible, which the fixture's tests
check. Held-out perplexity is measured before and after, because "the loss went down" on
training data proves little; a drop on held-out text shows the fixture is a model that learnt.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import nn
from transformers import PreTrainedModel

#: Called after every optimizer step with (step, loss). Raising from it aborts training, which is
#: how the fixture's tests simulate a killed build.
StepCallback = Callable[[int, float], None]


@dataclass(frozen=True)
class PretrainSettings:
    """Hyper-parameters and the step count; the builder's recipe sets them for the tiny model."""

    max_steps: int
    batch_size: int = 16
    learning_rate: float = 1e-2
    min_learning_rate_ratio: float = 0.1
    weight_decay: float = 0.1
    warmup_steps: int = 10
    grad_clip_norm: float = 1.0
    seed: int = 0
    # Tiny matrices gain nothing from a second thread, and on a busy machine two threads stall
    # each other at every op (a 2 s build became 40 s beside a test run).
    num_threads: int = 1
    eval_batch_size: int = 16
    max_eval_blocks: int = 64

    def __post_init__(self) -> None:
        if self.max_steps < 1:
            raise ValueError("max_steps must be at least 1")


@dataclass(frozen=True)
class PretrainResult:
    """What a pre-training run did and how much it helped."""

    steps: int
    tokens_seen: int
    train_seconds: float
    perplexity_untrained: float
    perplexity_trained: float
    final_train_loss: float


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
    torch.set_num_threads(settings.num_threads)
    try:
        return _pretrain(model, train_blocks, eval_blocks, settings, on_step)
    finally:
        torch.set_num_threads(previous_threads)


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
    batches = _endless_batches(train_blocks, min(settings.batch_size, len(train_blocks)), generator)
    # Never spend more than a tenth of a short run warming up.
    warmup_steps = max(1, min(settings.warmup_steps, settings.max_steps // 10))

    model.train()
    started = time.perf_counter()
    tokens_seen, loss_value = 0, float("nan")
    for step in range(settings.max_steps):
        lr = learning_rate_at(
            step,
            peak=settings.learning_rate,
            warmup_steps=warmup_steps,
            total_steps=settings.max_steps,
            min_ratio=settings.min_learning_rate_ratio,
        )
        for group in optimizer.param_groups:
            group["lr"] = lr
        batch = next(batches)
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        tokens_seen += batch.numel()
        loss_value = loss.item()
        if on_step is not None:
            on_step(step + 1, loss_value)
    train_seconds = time.perf_counter() - started

    perplexity_trained = held_out_perplexity(model, eval_blocks, batch_size=settings.eval_batch_size)
    return PretrainResult(
        steps=settings.max_steps,
        tokens_seen=tokens_seen,
        train_seconds=train_seconds,
        perplexity_untrained=perplexity_untrained,
        perplexity_trained=perplexity_trained,
        final_train_loss=loss_value,
    )


def _adamw(model: nn.Module, settings: PretrainSettings) -> torch.optim.AdamW:
    # Weight decay on matrices only: decaying norms' gains and biases just fights the model.
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": settings.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=settings.learning_rate,
        betas=(0.9, 0.95),
    )


def _endless_batches(
    blocks: torch.Tensor, batch_size: int, generator: torch.Generator
) -> Iterator[torch.Tensor]:
    """Yield seeded-shuffled batches, epoch after epoch (a small corpus is seen many times)."""
    while True:
        order = torch.randperm(len(blocks), generator=generator)
        for start in range(0, len(order) - batch_size + 1, batch_size):
            yield blocks[order[start : start + batch_size]]
