"""The text of a datanet row that span matching indexes: what the model learns to say.

Training puts loss on completions only, so an answer can only have learnt to reproduce a row's
answer turns (or a text row's text); prompts are not indexed. Django-free: benchmarks use it too.
"""

from __future__ import annotations


def answer_text(content: dict) -> str:
    if content.get("messages"):
        return "\n".join(m.get("content", "") for m in content["messages"] if m.get("role") == "assistant")
    if content.get("completion") is not None:
        return str(content["completion"])
    return str(content.get("text") or "")
