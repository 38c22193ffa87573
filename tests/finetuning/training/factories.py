"""Factory functions for training tests: rows of every normalized shape, a spec sized for the tiny model."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from modelfactory.finetuning.training.spec import TrainingSpec
from tests.support.tiny_corpus import synthetic_texts


def sum_format_rows(count: int = 48, seed: int = 1) -> list[dict[str, Any]]:
    """Chats answered with the bare number ("7."), a format the base never saw: a LoRA visibly learns it."""
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        rows.append(
            {
                "row_id": index + 1,
                "messages": [
                    {"role": "user", "content": f"What is {a} plus {b}?"},
                    {"role": "assistant", "content": f"{a + b}."},
                ],
            }
        )
    return rows


def mixed_rows() -> list[dict[str, Any]]:
    """Every normalized shape, as a datanet version export writes them (absent parts are None)."""
    rows = sum_format_rows(40)
    for index, text in enumerate(synthetic_texts(8, seed=3)):
        rows.append(
            {"row_id": 1000 + index, "text": text, "messages": None, "prompt": None, "completion": None}
        )
    for index in range(8):
        rows.append(
            {
                "row_id": 2000 + index,
                "prompt": f"What is {index} plus 1?",
                "completion": f"{index + 1}.",
                "messages": None,
                "text": None,
            }
        )
    return rows


def tiny_spec(base_model: Path, **overrides: Any) -> TrainingSpec:
    """A spec that trains the tiny model in well under a second per few steps."""
    values: dict[str, Any] = dict(
        base_model=str(base_model),
        rank=8,
        alpha=16,
        dropout=0.0,
        learning_rate=5e-3,
        warmup_ratio=0.0,
        scheduler="constant",
        max_steps=12,
        batch_size=4,
        max_seq_length=64,
        eval_fraction=0.15,
        save_every_steps=4,
        eval_every_steps=4,
        seed=0,
    )
    values.update(overrides)
    return TrainingSpec(**values)
