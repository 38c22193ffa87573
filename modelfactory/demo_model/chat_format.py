"""The chat format every ModelFactory model speaks: ChatML, with its special tokens.

The format lives in one place because three consumers must agree on it byte for byte: the
tokenizer (which must never split a special token), the pre-training corpus (so that the base
model has *seen* the format before anyone fine-tunes it) and the fine-tuning code (which relies on
the `{% generation %}` markers to compute a completion-only loss via
``return_assistant_tokens_mask``).
"""

from __future__ import annotations

IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
END_OF_TEXT = "<|endoftext|>"

#: Order matters: the ids 0, 1, 2 are reserved for these, in this order, in every demo tokenizer.
SPECIAL_TOKENS: tuple[str, ...] = (END_OF_TEXT, IM_START, IM_END)

CHAT_ROLES: tuple[str, ...] = ("system", "user", "assistant")

# Assistant turns are wrapped in {% generation %} ... {% endgeneration %} *including* the closing
# <|im_end|>: the model must learn to emit it, because it is the eos token that stops `generate`.
# The trailing newline after <|im_end|> is outside the marker: it is format, not an answer.
CHATML_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'assistant' -%}"
    "{{- '" + IM_START + "assistant\\n' -}}"
    "{%- generation -%}"
    "{{- message['content'] + '" + IM_END + "' -}}"
    "{%- endgeneration -%}"
    "{{- '\\n' -}}"
    "{%- else -%}"
    "{{- '" + IM_START + "' + message['role'] + '\\n' + message['content'] + '" + IM_END + "\\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{- '" + IM_START + "assistant\\n' -}}"
    "{%- endif -%}"
)
