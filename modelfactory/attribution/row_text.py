"""The text of a datanet row that span matching indexes: what the model learns to say.

Training puts loss on completions only, so an answer can only have learnt to reproduce a row's
answer turns (or a text row's text); prompts are not indexed. Django-free: benchmarks use it too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from datanets.row_formats import row_as_messages


def answer_text(content: Mapping[str, Any]) -> str:
    messages = row_as_messages(content)
    if messages is None:
        return str(content.get("text") or "")
    return "\n".join(str(m.get("content") or "") for m in messages if m.get("role") == "assistant")
