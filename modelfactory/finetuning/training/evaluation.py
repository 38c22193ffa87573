"""Did the adapter help? Base versus adapter on the held-out split, in numbers and in answers.

Run once when training ends, on the same in-memory model (PEFT can switch the adapter off), so the
two sides see identical weights, data and kernels: eval loss and perplexity over every completion
token of the eval split, and a few held-out prompts answered greedily by both, for the job page's
side-by-side view. Greedy and short on purpose: deterministic, and cheap enough on CPU.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from datasets import Dataset
from peft import PeftModel
from transformers import PreTrainedTokenizerBase

from .data import IGNORE_INDEX, PreparedData, chat_template_of, row_messages


@dataclass
class SideBySide:
    row_id: Any
    prompt: list[dict[str, str]]
    reference: str
    base_answer: str
    adapter_answer: str


@dataclass
class EvaluationReport:
    eval_tokens: int
    base_eval_loss: float | None
    adapter_eval_loss: float | None
    base_perplexity: float | None
    adapter_perplexity: float | None
    samples: list[SideBySide] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@torch.no_grad()
def mean_completion_loss(
    model: torch.nn.Module, dataset: Dataset, *, pad_token_id: int, batch_size: int = 8
) -> tuple[float | None, int]:
    """Token-weighted mean cross-entropy over the label tokens of ``dataset``, and how many there were."""
    device = next(model.parameters()).device
    total_loss, total_tokens = 0.0, 0
    for start in range(0, len(dataset), batch_size):
        batch = dataset[start : start + batch_size]
        width = max(len(ids) for ids in batch["input_ids"])
        input_ids = torch.full((len(batch["input_ids"]), width), pad_token_id, dtype=torch.long)
        labels = torch.full_like(input_ids, IGNORE_INDEX)
        attention = torch.zeros_like(input_ids)
        for i, (ids, lab) in enumerate(zip(batch["input_ids"], batch["labels"], strict=True)):
            input_ids[i, : len(ids)] = torch.tensor(ids)
            labels[i, : len(lab)] = torch.tensor(lab)
            attention[i, : len(ids)] = 1
        logits = model(input_ids=input_ids.to(device), attention_mask=attention.to(device)).logits.float()
        shifted_logits, shifted_labels = logits[:, :-1], labels[:, 1:].to(device)
        loss = torch.nn.functional.cross_entropy(
            shifted_logits.reshape(-1, shifted_logits.size(-1)),
            shifted_labels.reshape(-1),
            ignore_index=IGNORE_INDEX,
            reduction="sum",
        )
        total_loss += loss.item()
        total_tokens += int((shifted_labels != IGNORE_INDEX).sum())
    if total_tokens == 0:
        return None, 0
    return total_loss / total_tokens, total_tokens


@torch.no_grad()
def greedy_answer(
    model: torch.nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    prompt: list[dict[str, str]],
    *,
    chat_template: str,
    max_new_tokens: int,
) -> str:
    device = next(model.parameters()).device
    encoded = tokenizer.apply_chat_template(
        prompt, chat_template=chat_template, add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    encoded = {k: v.to(device) for k, v in encoded.items()}
    output = model.generate(
        **encoded, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id
    )
    return tokenizer.decode(output[0, encoded["input_ids"].shape[1] :], skip_special_tokens=True).strip()


def held_out_prompts(
    data: PreparedData, rows_by_id: Mapping[Any, Mapping[str, Any]], *, count: int
) -> list[tuple[Any, list[dict[str, str]], str]]:
    """Up to ``count`` eval rows that end in an answer: (row id, the chat before it, the answer)."""
    chosen = []
    for row_id in data.eval_row_ids:
        messages = row_messages(rows_by_id[row_id])
        if not messages or messages[-1]["role"] != "assistant" or len(messages) < 2:
            continue
        chosen.append((row_id, messages[:-1], messages[-1]["content"]))
        if len(chosen) == count:
            break
    return chosen


def compare_base_and_adapter(
    model: PeftModel,
    tokenizer: PreTrainedTokenizerBase,
    data: PreparedData,
    rows_by_id: Mapping[Any, Mapping[str, Any]],
    *,
    prompt_count: int = 3,
    max_new_tokens: int = 32,
    batch_size: int = 8,
) -> EvaluationReport:
    """Eval loss/perplexity and greedy answers, with the adapter off (base) and on (adapter)."""
    was_training = model.training
    model.eval()
    template, _ = chat_template_of(tokenizer)
    prompts = held_out_prompts(data, rows_by_id, count=prompt_count)
    results: dict[str, dict[str, Any]] = {}
    try:
        for side, context in (("base", model.disable_adapter), ("adapter", nullcontext)):
            with context():
                loss, tokens = (None, 0)
                if data.eval is not None:
                    loss, tokens = mean_completion_loss(
                        model, data.eval, pad_token_id=tokenizer.pad_token_id, batch_size=batch_size
                    )
                answers = [
                    greedy_answer(
                        model, tokenizer, prompt, chat_template=template, max_new_tokens=max_new_tokens
                    )
                    for _, prompt, _ in prompts
                ]
            results[side] = {"loss": loss, "tokens": tokens, "answers": answers}
    finally:
        model.train(was_training)
    return EvaluationReport(
        eval_tokens=results["adapter"]["tokens"],
        base_eval_loss=_round(results["base"]["loss"]),
        adapter_eval_loss=_round(results["adapter"]["loss"]),
        base_perplexity=_perplexity(results["base"]["loss"]),
        adapter_perplexity=_perplexity(results["adapter"]["loss"]),
        samples=[
            SideBySide(row_id, prompt, reference, base, adapter)
            for (row_id, prompt, reference), base, adapter in zip(
                prompts, results["base"]["answers"], results["adapter"]["answers"], strict=True
            )
        ],
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _perplexity(loss: float | None) -> float | None:
    if loss is None:
        return None
    return round(math.exp(min(loss, 50.0)), 4)
