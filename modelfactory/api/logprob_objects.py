"""The engine's log-probabilities in OpenAI's two shapes: chat's `logprobs.content` and completions' legacy
`{tokens, token_logprobs, top_logprobs, text_offset}`.

A token is shown as the text it decodes to alone (" Paris"), with its UTF-8 bytes, as OpenAI does; a
token that is part of a multi-byte character decodes to a replacement character there, and its bytes
say what it really is.
"""

from __future__ import annotations

from collections.abc import Sequence

TopLogprobs = Sequence[tuple[int, float]]


def token_text(tokenizer, token_id: int) -> str:
    return tokenizer.decode([token_id])


def chat_entry(tokenizer, token_id: int, logprob: float, top: TopLogprobs) -> dict:
    """One generated token of a chat answer: `{token, logprob, bytes, top_logprobs: [...]}`."""

    def item(token: int, value: float) -> dict:
        text = token_text(tokenizer, token)
        return {"token": text, "logprob": value, "bytes": list(text.encode())}

    return {**item(token_id, logprob), "top_logprobs": [item(token, value) for token, value in top]}


def chat_logprobs(
    tokenizer, token_ids: Sequence[int], logprobs: Sequence[float], tops: Sequence[TopLogprobs]
) -> dict:
    return {
        "content": [
            chat_entry(tokenizer, token, value, top)
            for token, value, top in zip(token_ids, logprobs, tops, strict=True)
        ],
        "refusal": None,
    }


def completion_logprobs(
    tokenizer,
    token_ids: Sequence[int],
    logprobs: Sequence[float | None],
    tops: Sequence[TopLogprobs | None],
    *,
    offset: int = 0,
) -> dict:
    """The legacy shape; `offset` is where the first token starts in the choice's text (a stream's later
    pieces continue from what was sent before). A prompt's first token has no logprob: None, as OpenAI."""
    tokens = [token_text(tokenizer, token) for token in token_ids]
    offsets = []
    for text in tokens:
        offsets.append(offset)
        offset += len(text)
    return {
        "tokens": tokens,
        "token_logprobs": list(logprobs),
        "top_logprobs": [
            None if top is None else {token_text(tokenizer, token): value for token, value in top}
            for top in tops
        ],
        "text_offset": offsets,
    }
