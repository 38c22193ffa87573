"""How much of the model's context a conversation takes, and which turns are sent to fit it.

Small models have small contexts (the tiny test model's is 128 tokens): a long conversation would fail
every new answer if it were sent whole. The oldest turns are left
out until the chat fits with room to answer; the system prompt and the newest prompt are always kept.
The same fitting serves the answer (`answer_streaming_services`), the check when a prompt is sent (`services`)
and the context meter under the message box (`selectors.context_meter`), so all three agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelfactory.serving import engine_runtime

ANSWER_ROOM_TOKENS = 8
"""Tokens a prompt must leave free in the context for the answer to begin."""


@dataclass(frozen=True)
class ContextFit:
    prompt: str
    """The chat rendered with the base model's template, ready for the answer."""
    tokens: int
    context_length: int
    left_out: int
    """Messages of the oldest turns left out so that the rest fits."""

    @property
    def largest_prompt(self) -> int:
        """The most tokens a prompt may have and still leave room to answer."""
        return self.context_length - ANSWER_ROOM_TOKENS - 1

    @property
    def fits(self) -> bool:
        return self.tokens <= self.largest_prompt


def fit_chat(chat: list[dict[str, str]], running_engine) -> ContextFit:
    """The chat as it will be sent: oldest turns dropped (a question with its answer at a time) until it
    fits, or until only the system prompt and the newest message are left, which may still not fit."""
    if not chat:  # nothing written yet: nothing to send
        return ContextFit(prompt="", tokens=0, context_length=running_engine.max_model_len, left_out=0)
    system = chat[:1] if chat[0]["role"] == "system" else []
    turns = chat[len(system) :]
    while True:
        prompt = engine_runtime.chat_prompt(system + turns)
        fit = ContextFit(
            prompt=prompt,
            tokens=len(running_engine.tokenizer(prompt)["input_ids"]),
            context_length=running_engine.max_model_len,
            left_out=len(chat) - len(system) - len(turns),
        )
        if fit.fits or len(turns) <= 1:
            return fit
        turns = turns[2:] if len(turns) > 2 and turns[1]["role"] == "assistant" else turns[1:]
