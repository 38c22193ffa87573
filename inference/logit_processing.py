"""Presence / frequency penalties and logit bias: what OpenAI's API lets a request add to its logits.

    logits[t] += bias[t] - presence * (count[t] > 0) - frequency * count[t]

where count[t] is how often the request has generated token t so far (the prompt does not count).
`adjust_logits` does it for the rows that asked, all at once (one scatter for the counts, one for the
biases); `reference_adjusted_logits` is the same formula written token by token for one row, the
version the batched one is tested against.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from inference.sampling import SamplingParams


def adjust_logits(
    logits: torch.Tensor,
    rows: Sequence[int],
    params: Sequence[SamplingParams],
    output_token_ids: Sequence[Sequence[int]],
) -> torch.Tensor:
    """`logits[rows]` (a float32 copy, [len(rows), vocab]) with each row's penalties and bias applied.

    `params` and `output_token_ids` are those of `rows`, in the same order.
    """
    logits = logits[list(rows)].float()  # advanced indexing copies: the caller's logits stay raw
    device = logits.device
    count_rows: list[int] = []
    count_tokens: list[int] = []
    for row, (param, tokens) in enumerate(zip(params, output_token_ids, strict=True)):
        if param.penalised and tokens:
            count_rows.extend([row] * len(tokens))
            count_tokens.extend(tokens)
    if count_rows:
        counts = torch.zeros_like(logits)
        index = (torch.tensor(count_rows, device=device), torch.tensor(count_tokens, device=device))
        counts.index_put_(index, torch.ones(len(count_rows), device=device), accumulate=True)
        frequency = torch.tensor([p.frequency_penalty for p in params], device=device)[:, None]
        presence = torch.tensor([p.presence_penalty for p in params], device=device)[:, None]
        logits -= frequency * counts + presence * (counts > 0)
    bias_rows = [row for row, param in enumerate(params) for _ in param.logit_bias]
    if bias_rows:
        tokens = [token for param in params for token, _ in param.logit_bias]
        values = [value for param in params for _, value in param.logit_bias]
        index = (torch.tensor(bias_rows, device=device), torch.tensor(tokens, device=device))
        logits.index_put_(index, torch.tensor(values, device=device), accumulate=True)
    return logits


def reference_adjusted_logits(
    logits: torch.Tensor, params: SamplingParams, output_token_ids: Sequence[int]
) -> torch.Tensor:
    """One row [vocab], the plain way: each generated token's penalty, then each biased token."""
    adjusted = logits.detach().float().clone()
    for token, count in Counter(output_token_ids).items():
        adjusted[token] -= params.frequency_penalty * count + params.presence_penalty
    for token, bias in params.logit_bias:
        adjusted[token] += bias
    return adjusted
