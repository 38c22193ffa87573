"""The tiny model's chat format: ChatML, with its special tokens.

ChatML because the default base model, SmolLM2-135M-Instruct, speaks it too, so tests exercise
the same turn markers as production. The format lives in one place because three consumers must
agree on it byte for byte: the tokenizer (which must never split a special token), the
pre-training corpus (so that the tiny model has *seen* the format before a test fine-tunes it)
and the fine-tuning code (which, for this template, uses the `{% generation %}` markers to
compute a completion-only loss via ``return_assistant_tokens_mask``; SmolLM2's own template has
no markers, a case the fine-tuning code handles separately).
"""

from __future__ import annotations

IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
END_OF_TEXT = "<|endoftext|>"

#: Order matters: the ids 0, 1, 2 are reserved for these, in this order, in every tiny tokenizer.
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
