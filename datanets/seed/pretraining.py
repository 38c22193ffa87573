"""Flattening seed content into plain text for pre-training the demo base model.

The base model must already speak the datanets' language (and ordinary English) before a
LoRA is fine-tuned on one datanet, so it is pre-trained on every row plus the general
corpus. Chat and prompt/completion rows are rendered as "User: …\\nAssistant: …" turns;
builders that prefer their own chat template can render `seed_datanets()` rows themselves.
"""

from __future__ import annotations

import random
from functools import cache

from .catalog import all_datanets
from .general_corpus import corpus_paragraphs
from .records import row_format

ROLE_LABELS = {"system": "System", "user": "User", "assistant": "Assistant"}


def render_as_text(content: dict) -> str:
    """One row as plain text, whatever its format."""
    kind = row_format(content)
    if kind == "messages":
        return "\n".join(f"{ROLE_LABELS[m['role']]}: {m['content']}" for m in content["messages"])
    if kind == "prompt_completion":
        return f"User: {content['prompt']}\nAssistant: {content['completion']}"
    return content["text"]


@cache
def general_paragraphs() -> tuple[str, ...]:
    """The general corpus, built once per process."""
    return tuple(corpus_paragraphs(random.Random("content:general-corpus")))


@cache
def all_pretraining_texts() -> tuple[str, ...]:
    """Every datanet row as text (datanets in catalogue order), then the general corpus."""
    texts = [render_as_text(row.content) for datanet in all_datanets() for row in datanet.rows]
    return (*texts, *general_paragraphs())
