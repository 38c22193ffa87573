"""Datanet rows → token ids and labels, with loss on completions only, and a reproducible split.

We tokenize ourselves instead of letting TRL do it, for four reasons that matter to ModelFactory:
the ordered list of training row ids must be recorded (attribution pays contributors per row), the
review page wants truncation and token counts *before* training, resume must be able to check that
the data did not change (a fingerprint of the exact token ids), and the loss mask must be right for
chat templates with and without ``{% generation %}`` markers. TRL receives a dataset that already
has ``input_ids`` and ``labels`` and trains on it unchanged.

Row shapes (the datanets' normalized content, plus a ``row_id``):

- ``{"messages": [{"role", "content"}, ...]}`` — rendered with the model's chat template; labels on
  the assistant turns (including the end-of-turn token the template puts inside the turn).
- ``{"prompt", "completion"}`` — rendered as a user turn and an assistant turn, same template.
- ``{"text"}`` — plain language modelling: every token is a label, eos appended.

Keys present with a ``None`` value (as in a datanet version's JSONL export) count as absent.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from datasets import Dataset
from transformers import PreTrainedTokenizerBase

from datanets.row_formats import MESSAGES, TEXT, row_as_messages, row_format_of

IGNORE_INDEX = -100
"""Label value that PyTorch's cross-entropy (and so every HF model) skips: "no loss on this token"."""

FALLBACK_CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'assistant' -%}"
    "{{- '<|im_start|>assistant\\n' -}}"
    "{%- generation -%}{{- message['content'] + '<|im_end|>' -}}{%- endgeneration -%}"
    "{{- '\\n' -}}"
    "{%- else -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)
"""ChatML, for base models that ship no chat template (GPT-2 and most pre-trained-only models)."""

_GENERATION_TAG = re.compile(r"{%-?\s*generation\s*-?%}")
_ROLES = ("system", "user", "assistant")


class RowInvalid(ValueError):
    """A row that is not one of the three normalized shapes; names the row and what is wrong."""

    def __init__(self, row_id: object, reason: str) -> None:
        super().__init__(f"row {row_id!r}: {reason}")
        self.row_id = row_id
        self.reason = reason


class NoTrainingRows(ValueError):
    """Nothing left to train on (no rows, or every row dropped); says why."""


@dataclass(frozen=True)
class EncodedRow:
    row_id: Any
    input_ids: list[int]
    labels: list[int]
    truncated: bool
    tokens_cut: int

    @property
    def loss_tokens(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE_INDEX)

    @property
    def teaches(self) -> bool:
        """Labels are shifted by one inside the model: a label on position 0 alone teaches nothing."""
        return any(label != IGNORE_INDEX for label in self.labels[1:])


@dataclass
class PreparedData:
    """The tokenized split, and the facts about it that the review page and the manifest show."""

    train: Dataset
    eval: Dataset | None
    train_row_ids: list[Any]
    """Training rows in the exact order the trainer visits them (every epoch)."""
    eval_row_ids: list[Any]
    truncated_row_ids: list[Any]
    """Rows (train or eval) cut at ``max_seq_length``: the end of their completion is not learnt."""
    dropped_row_ids: list[Any]
    """Rows with no completion token left (empty answer, or the prompt alone fills max_seq_length)."""
    train_tokens: int
    train_loss_tokens: int
    eval_tokens: int
    tokens_cut: int
    max_seq_length: int
    chat_template_source: str
    """``model`` (the tokenizer's own), or ``fallback_chatml`` when the base model has none."""
    fingerprint: str = field(default="")

    @property
    def truncated_rows(self) -> int:
        return len(self.truncated_row_ids)

    def report(self) -> dict[str, Any]:
        """Counts for people (review page, manifest): no token ids, just what happened to the data."""
        return {
            "train_rows": len(self.train_row_ids),
            "eval_rows": len(self.eval_row_ids),
            "train_tokens": self.train_tokens,
            "train_loss_tokens": self.train_loss_tokens,
            "eval_tokens": self.eval_tokens,
            "truncated_rows": self.truncated_rows,
            "truncated_row_ids": list(self.truncated_row_ids),
            "tokens_cut": self.tokens_cut,
            "dropped_rows": len(self.dropped_row_ids),
            "dropped_row_ids": list(self.dropped_row_ids),
            "max_seq_length": self.max_seq_length,
            "chat_template_source": self.chat_template_source,
            "fingerprint": self.fingerprint,
        }


# --- Encoding one row ------------------------------------------------------------------------------
def chat_template_of(tokenizer: PreTrainedTokenizerBase) -> tuple[str, str]:
    """The template to render chats with, and where it came from (``model`` or ``fallback_chatml``)."""
    template = getattr(tokenizer, "chat_template", None)
    if isinstance(template, dict):  # some tokenizers ship several named templates
        template = template.get("default") or next(iter(template.values()), None)
    if template:
        return template, "model"
    return FALLBACK_CHAT_TEMPLATE, "fallback_chatml"


def row_messages(row: Mapping[str, Any]) -> list[dict[str, str]] | None:
    """The chat a row stands for (prompt/completion becomes user + assistant), or None for a text row."""
    row_id, row_format = row.get("row_id"), row_format_of(row)
    if row_format == TEXT:
        if isinstance(row.get("text"), str):
            return None
        raise RowInvalid(row_id, "expected 'messages', 'prompt' + 'completion', or 'text'")
    if row_format == MESSAGES:
        messages = row["messages"]
        if not isinstance(messages, list) or not messages:
            raise RowInvalid(row_id, "'messages' must be a non-empty list of {role, content}")
        for message in messages:
            if not isinstance(message, Mapping) or not isinstance(message.get("content"), str):
                raise RowInvalid(row_id, "every message needs a string 'content'")
            if message.get("role") not in _ROLES:
                raise RowInvalid(row_id, f"message role {message.get('role')!r} is not one of {_ROLES}")
    elif not isinstance(row.get("prompt"), str) or not isinstance(row.get("completion"), str):
        raise RowInvalid(row_id, "a prompt/completion row needs both as strings")
    return [{"role": m["role"], "content": m["content"]} for m in row_as_messages(row)]


def encode_row(
    row: Mapping[str, Any], tokenizer: PreTrainedTokenizerBase, *, max_seq_length: int, chat_template: str
) -> EncodedRow:
    """Token ids and labels for one row: ``IGNORE_INDEX`` everywhere except completion tokens."""
    messages = row_messages(row)
    if messages is None:
        input_ids = list(tokenizer(row["text"])["input_ids"])
        if tokenizer.eos_token_id is not None and (not input_ids or input_ids[-1] != tokenizer.eos_token_id):
            input_ids.append(tokenizer.eos_token_id)
        labels = list(input_ids)
    elif _GENERATION_TAG.search(chat_template):
        encoded = tokenizer.apply_chat_template(
            messages,
            chat_template=chat_template,
            tokenize=True,
            return_dict=True,
            return_assistant_tokens_mask=True,
        )
        input_ids = list(encoded["input_ids"])
        labels = [
            t if m else IGNORE_INDEX for t, m in zip(input_ids, encoded["assistant_masks"], strict=True)
        ]
    else:
        input_ids, labels = _encode_by_offsets(messages, tokenizer, chat_template)
    cut = max(0, len(input_ids) - max_seq_length)
    if cut:
        input_ids, labels = input_ids[:max_seq_length], labels[:max_seq_length]
    return EncodedRow(row.get("row_id"), input_ids, labels, truncated=cut > 0, tokens_cut=cut)


def _encode_by_offsets(
    messages: list[dict[str, str]], tokenizer: PreTrainedTokenizerBase, chat_template: str
) -> tuple[list[int], list[int]]:
    # Templates without generation markers: find each assistant answer in the rendered text and label
    # the tokens whose characters fall inside it, plus the eos token right after it (so the model
    # learns to stop). Needs a fast tokenizer for the offsets.
    text = tokenizer.apply_chat_template(messages, chat_template=chat_template, tokenize=False)
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    spans: list[tuple[int, int]] = []
    cursor = 0
    for message in messages:
        if message["role"] != "assistant" or not message["content"]:
            continue
        start = text.find(message["content"], cursor)
        if start < 0:
            continue
        end = start + len(message["content"])
        eos = tokenizer.eos_token or ""
        if eos and text.startswith(eos, end):
            end += len(eos)
        spans.append((start, end))
        cursor = end
    input_ids = list(encoded["input_ids"])
    labels = [
        token if any(s < token_end and token_start < e for s, e in spans) else IGNORE_INDEX
        for token, (token_start, token_end) in zip(input_ids, encoded["offset_mapping"], strict=True)
    ]
    return input_ids, labels


def trained_examples(
    rows: Iterable[Mapping[str, Any]], tokenizer: PreTrainedTokenizerBase, *, max_seq_length: int
) -> list[tuple[Any, list[int], list[int]]]:
    """(row_id, input_ids, labels) of rows exactly as training encodes them, rows that teach nothing left
    out: what gradient-influence sketches must be computed on, to match what the adapter learnt from."""
    template, _ = chat_template_of(tokenizer)
    encoded = (
        encode_row(row, tokenizer, max_seq_length=max_seq_length, chat_template=template) for row in rows
    )
    return [(e.row_id, e.input_ids, e.labels) for e in encoded if e.teaches]


# --- The split -------------------------------------------------------------------------------------
def split_row_ids(row_ids: Sequence[Any], *, eval_fraction: float, seed: int) -> tuple[list[Any], list[Any]]:
    """Deterministic (train, eval) split: rows ordered by a seeded hash of their id, eval taken first.

    Ordering by hash instead of by position means the same row lands on the same side whatever order
    the caller passes rows in, and the training order is a fixed, seeded shuffle that we can record.
    """
    ordered = sorted(row_ids, key=lambda row_id: hashlib.sha256(f"{seed}:{row_id}".encode()).hexdigest())
    count = len(ordered)
    eval_count = 0
    if eval_fraction > 0 and count >= 2:
        eval_count = min(count - 1, max(1, round(count * eval_fraction)))
    return ordered[eval_count:], ordered[:eval_count]


# --- The whole dataset -----------------------------------------------------------------------------
def prepare_data(
    rows: Iterable[Mapping[str, Any]],
    tokenizer: PreTrainedTokenizerBase,
    *,
    max_seq_length: int,
    eval_fraction: float,
    seed: int,
    batch_size: int = 1,
) -> PreparedData:
    """Validate, split, tokenize and mask ``rows``; returns datasets with ``input_ids`` and ``labels``.

    With ``batch_size`` > 1 the training order is grouped by length (`length_grouped_order`), so that
    a batch pads little; the order is still fixed by ``seed`` and recorded row by row.
    """
    by_id: dict[Any, Mapping[str, Any]] = {}
    for row in rows:
        row_id = row.get("row_id")
        if row_id is None:
            raise RowInvalid(None, "every row needs a 'row_id' (it is recorded in the manifest)")
        if row_id in by_id:
            raise RowInvalid(row_id, "duplicate row_id")
        by_id[row_id] = row
    if not by_id:
        raise NoTrainingRows("no rows to train on: pick at least one datanet version with rows")
    template, template_source = chat_template_of(tokenizer)
    train_ids, eval_ids = split_row_ids(list(by_id), eval_fraction=eval_fraction, seed=seed)

    truncated: list[Any] = []
    dropped: list[Any] = []
    tokens_cut = 0

    def encode_all(ids: list[Any]) -> list[EncodedRow]:
        nonlocal tokens_cut
        kept = []
        for row_id in ids:
            encoded = encode_row(
                by_id[row_id], tokenizer, max_seq_length=max_seq_length, chat_template=template
            )
            if encoded.truncated:
                truncated.append(row_id)
                tokens_cut += encoded.tokens_cut
            if not encoded.teaches:
                dropped.append(row_id)
                continue
            kept.append(encoded)
        return kept

    train_rows, eval_rows = encode_all(train_ids), encode_all(eval_ids)
    if not train_rows:
        raise NoTrainingRows(
            f"all {len(train_ids)} training rows were dropped: none has a completion token within "
            f"max_seq_length={max_seq_length}"
        )
    train_rows = length_grouped_order(train_rows, batch_size=batch_size, seed=seed)
    data = PreparedData(
        train=_to_dataset(train_rows),
        eval=_to_dataset(eval_rows) if eval_rows else None,
        train_row_ids=[r.row_id for r in train_rows],
        eval_row_ids=[r.row_id for r in eval_rows],
        truncated_row_ids=truncated,
        dropped_row_ids=dropped,
        train_tokens=sum(len(r.input_ids) for r in train_rows),
        train_loss_tokens=sum(r.loss_tokens for r in train_rows),
        eval_tokens=sum(len(r.input_ids) for r in eval_rows),
        tokens_cut=tokens_cut,
        max_seq_length=max_seq_length,
        chat_template_source=template_source,
    )
    data.fingerprint = _fingerprint(train_rows, eval_rows)
    return data


LENGTH_GROUP_BATCHES = 16
"""Batches per length group. Sorting the whole set would put every short row in the same few batches
(a loss curve that drifts with row length); groups of 16 batches keep each stretch of training a random
sample while cutting padding from 44% to under 5% of the tokens on the demo datanets (rows 40-256 tokens,
batch 8), which is where a CPU step's time went."""


def length_grouped_order(rows: list[EncodedRow], *, batch_size: int, seed: int) -> list[EncodedRow]:
    """``rows`` (already in their seeded order) regrouped so that each batch holds rows of similar length.

    Consecutive groups of ``batch_size * LENGTH_GROUP_BATCHES`` rows are sorted by length, cut into
    batches, and the batches of the whole run are shuffled with ``seed``, so the longest batch does not
    always come first. Deterministic: same rows, batch size and seed, same order.
    """
    if batch_size <= 1 or len(rows) <= batch_size:
        return list(rows)
    group = batch_size * LENGTH_GROUP_BATCHES
    batches: list[list[EncodedRow]] = []
    for start in range(0, len(rows), group):
        ordered = sorted(rows[start : start + group], key=lambda row: len(row.input_ids), reverse=True)
        batches += [ordered[i : i + batch_size] for i in range(0, len(ordered), batch_size)]
    # The last, possibly short, batch stays last: a full batch of long rows first would waste less, but a
    # short batch anywhere else changes the number of rows per optimizer step in the middle of an epoch.
    tail = batches.pop() if len(batches[-1]) < batch_size else None
    random.Random(f"length-groups:{seed}").shuffle(batches)
    if tail is not None:
        batches.append(tail)
    return [row for batch in batches for row in batch]


def _to_dataset(encoded: list[EncodedRow]) -> Dataset:
    return Dataset.from_dict(
        {"input_ids": [r.input_ids for r in encoded], "labels": [r.labels for r in encoded]}
    )


def _fingerprint(train_rows: list[EncodedRow], eval_rows: list[EncodedRow]) -> str:
    # Over the exact tokens and labels: a changed row, tokenizer, template or split all change it.
    digest = hashlib.sha256()
    for split, encoded in (("train", train_rows), ("eval", eval_rows)):
        for row in encoded:
            digest.update(json.dumps([split, row.row_id, row.input_ids, row.labels], default=str).encode())
    return digest.hexdigest()
