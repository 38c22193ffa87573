"""The three shapes a normalized row takes, named once for the models, the ingest checks and the forms.

Normalized content is exactly one of ``{"messages": [...]}``, ``{"prompt", "completion"}`` or
``{"text"}`` (see `datanets.ingest.formats`). A datanet may say which one it expects, because a
fine-tune trains on one shape at a time: a chat row in a plain-text datanet would be trained on as
text and teach the model the wrong thing. This module has no Django in it, so the ingest library
can use it too.
"""

from __future__ import annotations

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


def row_format_of(content: dict) -> str:
    """The format of normalized content (already checked by `check_content`)."""
    if "messages" in content:
        return MESSAGES
    if "prompt" in content:
        return PROMPT_COMPLETION
    return TEXT


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
