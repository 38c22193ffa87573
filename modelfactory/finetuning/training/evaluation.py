"""Did the adapter help? Base versus adapter on the held-out split, in numbers and in answers.

Run once when training ends, on the same in-memory model (PEFT can switch the adapter off), so the
two sides see identical weights, data and kernels:

- **Eval loss and perplexity** over every completion token of the eval split.
- **ROUGE-L F1** (`text_metrics`) of greedy answers to a few held-out prompts against the rows'
  own answers, base and adapter, per row and as a mean; the answers themselves go to the job and
  model pages side by side. Greedy and short on purpose: deterministic, and cheap enough on CPU
  (a few prompts, answered in batches, at most ``max_new_tokens`` each).

Only rows that are a prompt followed by an answer can be scored that way. Plain-text rows (and chats
that do not end in an assistant answer) still count in the eval loss; the report says how many were
left out of the text metric and why (``skipped``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from datasets import Dataset
from peft import PeftModel
from transformers import GenerationConfig, PreTrainedTokenizerBase

from .data import IGNORE_INDEX, PreparedData, chat_template_of, row_messages
from .text_metrics import rouge_l_f1

TEXT_METRIC = "rouge_l_f1"
"""The text metric's name in the report: ROUGE-L F1 over lowercase word tokens (`text_metrics`)."""

SKIP_TEXT_ROW = "plain-text row: no prompt to answer and no reference answer to compare with"
SKIP_NO_FINAL_ANSWER = "the chat does not end in an assistant answer"
SKIP_NO_PROMPT = "the answer has no prompt before it"
SKIP_ROW_MISSING = "the row's content was not available to the evaluation"

_SKIPPED_IDS_KEPT = 5


@dataclass
class SideBySide:
    row_id: Any
    prompt: list[dict[str, str]]
    reference: str
    base_answer: str
    adapter_answer: str
    base_rouge_l: float | None = None
    adapter_rouge_l: float | None = None


@dataclass
class SkippedRows:
    """Held-out rows the text metric cannot score, grouped by why."""

    reason: str
    rows: int
    row_ids: list[Any]
    """The first few of them (at most five), to look one up."""


@dataclass
class EvaluationReport:
    eval_tokens: int
    base_eval_loss: float | None
    adapter_eval_loss: float | None
    base_perplexity: float | None
    adapter_perplexity: float | None
    samples: list[SideBySide] = field(default_factory=list)
    metric: str = TEXT_METRIC
    held_out_rows: int = 0
    """Rows in the eval split (all of them count in the eval loss)."""
    scored_rows: int = 0
    """Held-out rows answered by both sides and scored: ``len(samples)``, at most ``prompt_count``."""
    base_rouge_l: float | None = None
    """Mean ROUGE-L F1 of the base model's answers over the scored rows; None when none was scored."""
    adapter_rouge_l: float | None = None
    max_new_tokens: int = 0
    """Answers were cut at this many tokens (a long reference then scores lower on recall)."""
    skipped: list[SkippedRows] = field(default_factory=list)

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
def greedy_answers(
    model: torch.nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[list[dict[str, str]]],
    *,
    chat_template: str,
    max_new_tokens: int,
    batch_size: int = 8,
    max_prompt_tokens: int | None = 1024,
) -> list[str]:
    """Greedy answers to chat ``prompts``, generated ``batch_size`` at a time (left-padded).

    A prompt longer than ``max_prompt_tokens`` keeps its end (the question and the generation
    prompt), which bounds the cost of one long row on CPU.
    """
    if not prompts:
        return []
    device = next(model.parameters()).device
    config = _greedy_config(model, tokenizer, max_new_tokens)
    answers: list[str] = []
    padding_side, truncation_side = tokenizer.padding_side, tokenizer.truncation_side
    tokenizer.padding_side, tokenizer.truncation_side = "left", "left"
    try:
        for start in range(0, len(prompts), batch_size):
            texts = [
                tokenizer.apply_chat_template(
                    prompt, chat_template=chat_template, add_generation_prompt=True, tokenize=False
                )
                for prompt in prompts[start : start + batch_size]
            ]
            encoded = tokenizer(
                texts,
                return_tensors="pt",
                padding=True,
                add_special_tokens=False,  # the template writes any special tokens it wants
                truncation=max_prompt_tokens is not None,
                max_length=max_prompt_tokens,
            ).to(device)
            output = model.generate(
                input_ids=encoded["input_ids"],
                attention_mask=encoded["attention_mask"],
                generation_config=config,
            )
            answers.extend(
                tokenizer.decode(ids, skip_special_tokens=True).strip()
                for ids in output[:, encoded["input_ids"].shape[1] :]
            )
    finally:
        tokenizer.padding_side, tokenizer.truncation_side = padding_side, truncation_side
    return answers


def greedy_answer(
    model: torch.nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    prompt: list[dict[str, str]],
    *,
    chat_template: str,
    max_new_tokens: int,
) -> str:
    """The greedy answer to one chat prompt."""
    return greedy_answers(
        model, tokenizer, [prompt], chat_template=chat_template, max_new_tokens=max_new_tokens
    )[0]


def _greedy_config(
    model: torch.nn.Module, tokenizer: PreTrainedTokenizerBase, max_new_tokens: int
) -> GenerationConfig:
    """Greedy decoding that stops at the model's end-of-turn token(s) or the tokenizer's eos."""
    stops: list[int] = []
    for candidate in (
        getattr(getattr(model, "generation_config", None), "eos_token_id", None),
        tokenizer.eos_token_id,
    ):
        for token_id in candidate if isinstance(candidate, list) else [candidate]:
            if token_id is not None and token_id not in stops:
                stops.append(int(token_id))
    return GenerationConfig(
        max_new_tokens=max_new_tokens,
        do_sample=False,
        num_beams=1,
        use_cache=True,
        eos_token_id=stops or None,
        pad_token_id=tokenizer.pad_token_id,
    )


def held_out_prompts(
    data: PreparedData, rows_by_id: Mapping[Any, Mapping[str, Any]], *, count: int
) -> list[tuple[Any, list[dict[str, str]], str]]:
    """Up to ``count`` eval rows that end in an answer: (row id, the chat before it, the answer)."""
    return scorable_held_out_rows(data, rows_by_id, count=count)[0]


def scorable_held_out_rows(
    data: PreparedData, rows_by_id: Mapping[Any, Mapping[str, Any]], *, count: int
) -> tuple[list[tuple[Any, list[dict[str, str]], str]], list[SkippedRows]]:
    """The first ``count`` eval rows a text metric can score, and the eval rows it cannot, by reason.

    Every eval row is looked at (cheap: no model involved) so that the skipped counts are complete.
    """
    chosen: list[tuple[Any, list[dict[str, str]], str]] = []
    skipped: dict[str, SkippedRows] = {}
    for row_id in data.eval_row_ids:
        row = rows_by_id.get(row_id)
        messages = row_messages(row) if row is not None else None
        if row is None:
            reason = SKIP_ROW_MISSING
        elif messages is None:
            reason = SKIP_TEXT_ROW
        elif messages[-1]["role"] != "assistant":
            reason = SKIP_NO_FINAL_ANSWER
        elif len(messages) < 2:
            reason = SKIP_NO_PROMPT
        else:
            if len(chosen) < count:
                chosen.append((row_id, messages[:-1], messages[-1]["content"]))
            continue
        group = skipped.setdefault(reason, SkippedRows(reason, 0, []))
        group.rows += 1
        if len(group.row_ids) < _SKIPPED_IDS_KEPT:
            group.row_ids.append(row_id)
    return chosen, list(skipped.values())


def compare_base_and_adapter(
    model: PeftModel,
    tokenizer: PreTrainedTokenizerBase,
    data: PreparedData,
    rows_by_id: Mapping[Any, Mapping[str, Any]],
    *,
    prompt_count: int = 3,
    max_new_tokens: int = 64,
    batch_size: int = 8,
) -> EvaluationReport:
    """Eval loss/perplexity, and greedy answers scored with ROUGE-L, with the adapter off (base) and on."""
    was_training = model.training
    model.eval()
    template, _ = chat_template_of(tokenizer)
    prompts, skipped = scorable_held_out_rows(data, rows_by_id, count=prompt_count)
    results: dict[str, dict[str, Any]] = {}
    try:
        for side, context in (("base", model.disable_adapter), ("adapter", nullcontext)):
            with context():
                loss, tokens = (None, 0)
                if data.eval is not None:
                    loss, tokens = mean_completion_loss(
                        model, data.eval, pad_token_id=tokenizer.pad_token_id, batch_size=batch_size
                    )
                answers = greedy_answers(
                    model,
                    tokenizer,
                    [prompt for _, prompt, _ in prompts],
                    chat_template=template,
                    max_new_tokens=max_new_tokens,
                    batch_size=batch_size,
                )
            scores = [
                rouge_l_f1(answer, reference)
                for answer, (_, _, reference) in zip(answers, prompts, strict=True)
            ]
            results[side] = {"loss": loss, "tokens": tokens, "answers": answers, "scores": scores}
    finally:
        model.train(was_training)
    base, adapter = results["base"], results["adapter"]
    return EvaluationReport(
        eval_tokens=adapter["tokens"],
        base_eval_loss=_round(base["loss"]),
        adapter_eval_loss=_round(adapter["loss"]),
        base_perplexity=_perplexity(base["loss"]),
        adapter_perplexity=_perplexity(adapter["loss"]),
        samples=[
            SideBySide(
                row_id,
                prompt,
                reference,
                base_answer,
                adapter_answer,
                base_rouge_l=_round(base_score, 4),
                adapter_rouge_l=_round(adapter_score, 4),
            )
            for (row_id, prompt, reference), base_answer, adapter_answer, base_score, adapter_score in zip(
                prompts, base["answers"], adapter["answers"], base["scores"], adapter["scores"], strict=True
            )
        ],
        metric=TEXT_METRIC,
        held_out_rows=len(data.eval_row_ids),
        scored_rows=len(prompts),
        base_rouge_l=_mean(base["scores"]),
        adapter_rouge_l=_mean(adapter["scores"]),
        max_new_tokens=max_new_tokens,
        skipped=skipped,
    )


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def _perplexity(loss: float | None) -> float | None:
    if loss is None:
        return None
    return round(math.exp(min(loss, 50.0)), 4)
