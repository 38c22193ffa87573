"""Log-probabilities of chosen tokens and their most likely alternatives, as OpenAI's `logprobs` reports them.

They are the model's own: log_softmax of the raw logits of the request's adapter, before penalties, bias
and temperature (what vLLM and OpenAI call a token's logprob). `token_logprobs` does the rows that asked
in one log_softmax and one topk, and nothing for the others; `reference_token_logprobs` is one row done
the plain way (log_softmax, full sort), the version the batched one is tested against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

TopLogprobs = tuple[tuple[int, float], ...]  # (token id, logprob), most likely first


@dataclass(frozen=True)
class TokenLogprobs:
    logprob: float
    top: TopLogprobs


def token_logprobs(
    logits: torch.Tensor, tokens: Sequence[int], top_k: Sequence[int | None]
) -> list[TokenLogprobs | None]:
    """Row i's token `tokens[i]` and its `top_k[i]` alternatives; None where `top_k[i]` is None."""
    result: list[TokenLogprobs | None] = [None] * len(top_k)
    rows = [row for row, k in enumerate(top_k) if k is not None]
    if not rows:
        return result
    logprobs = torch.log_softmax(logits[rows].float(), dim=-1)
    chosen_ids = torch.tensor([tokens[row] for row in rows], device=logprobs.device)
    chosen = logprobs.gather(1, chosen_ids[:, None])[:, 0].tolist()
    widest = min(max(top_k[row] for row in rows), logprobs.shape[-1])
    values: list[list[float]] = [[] for _ in rows]
    indices: list[list[int]] = [[] for _ in rows]
    if widest:
        top = torch.topk(logprobs, widest, dim=-1)
        values, indices = top.values.tolist(), top.indices.tolist()
    for position, row in enumerate(rows):
        k = top_k[row]
        alternatives = tuple(zip(indices[position][:k], values[position][:k], strict=True))
        result[row] = TokenLogprobs(chosen[position], alternatives)
    return result


def reference_token_logprobs(logits: torch.Tensor, token: int, top_k: int) -> TokenLogprobs:
    """One row [vocab], the plain way."""
    logprobs = torch.log_softmax(logits.detach().float(), dim=-1)
    ordered = torch.sort(logprobs, descending=True, stable=True)
    top = tuple(
        (int(index), float(ordered.values[index_rank]))
        for index_rank, index in enumerate(ordered.indices[:top_k])
    )
    return TokenLogprobs(float(logprobs[token]), top)
