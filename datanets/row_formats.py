"""The three shapes a normalized row takes, named once for the models, the ingest checks and the forms.

Normalized content is exactly one of ``{"messages": [...]}``, ``{"prompt", "completion"}`` or
``{"text"}`` (see `datanets.ingest.formats`). A datanet may say which one it expects, because a
fine-tune trains on one shape at a time: a chat row in a plain-text datanet would be trained on as
text and teach the model the wrong thing.

The shapes are read here and nowhere else -- which one a row has, the chat it stands for, its text --
so that the forms, the token counts, the trainer and attribution cannot disagree about a row. This
module has no Django in it, so the ingest library and the training library can use it too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MESSAGES = "messages"
PROMPT_COMPLETION = "prompt_completion"
TEXT = "text"

ROW_FORMATS: tuple[str, ...] = (MESSAGES, PROMPT_COMPLETION, TEXT)

LABELS = {MESSAGES: "Chat messages", PROMPT_COMPLETION: "Prompt / completion", TEXT: "Plain text"}
"""What forms and pages call each format."""

_DESCRIBED = {
    MESSAGES: "a chat conversation (messages)",
    PROMPT_COMPLETION: "a prompt/completion pair",
    TEXT: "plain text",
}
_DATANET_TAKES = {
    MESSAGES: "chat conversations (messages)",
    PROMPT_COMPLETION: "prompt/completion pairs",
    TEXT: "plain text rows",
}


def row_format_of(row: Mapping[str, Any]) -> str:
    """The format of a row: normalized content, or an exported or training row, whose fields of the
    other formats are None."""
    if row.get("messages") is not None:
        return MESSAGES
    if row.get("prompt") is not None or row.get("completion") is not None:
        return PROMPT_COMPLETION
    return TEXT


def row_as_messages(row: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The chat a row stands for (a prompt/completion pair is a user turn and an assistant turn), or
    None for a text row. Not validated: `check_content` (or the trainer) says whether it is well formed."""
    row_format = row_format_of(row)
    if row_format == MESSAGES:
        return list(row["messages"])
    if row_format == PROMPT_COMPLETION:
        return [
            {"role": "user", "content": row.get("prompt")},
            {"role": "assistant", "content": row.get("completion")},
        ]
    return None


def row_text(row: Mapping[str, Any]) -> str:
    """The text a row contributes to training, without any chat-template markup (what is counted in
    tokens and searched)."""
    messages = row_as_messages(row)
    if messages is None:
        return row["text"]
    return "\n".join(message["content"] for message in messages)


def format_mismatch(content: dict, expected: str) -> str | None:
    """Why ``content`` does not belong in a datanet expecting ``expected``, or None when it does.

    An empty ``expected`` takes every format: datanets made before formats were checked keep
    accepting what they accepted then.
    """
    if not expected:
        return None
    actual = row_format_of(content)
    if actual == expected:
        return None
    return f"is {_DESCRIBED[actual]}, but this datanet takes {_DATANET_TAKES[expected]} only"
