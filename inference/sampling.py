"""Choosing each request's next token from its logits: greedy, or temperature / top-k / top-p with a seed.

Greedy rows of the batch are decided in one argmax; sampled rows each use their own `torch.Generator`
seeded from the request, so the same seed gives the same text whatever else is in the batch. Rows that
ask for presence / frequency penalties or a logit bias get them first (`logit_processing.py`), on a copy
of their own rows only: a batch where nobody asks runs exactly the plain path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from inference.logit_processing import adjust_logits

MAX_LOGPROBS = 20  # OpenAI's top_logprobs limit
MAX_PENALTY = 2.0
MAX_LOGIT_BIAS = 100.0


@dataclass(frozen=True)
class SamplingParams:
    """How one request picks tokens, what it reports about them, and when it stops. temperature 0: greedy.

    `logprobs` / `prompt_logprobs`: None reports nothing; 0 the chosen (prompt) token's log-probability;
    k in 1..20 also the k most likely tokens. They are the model's own (log_softmax of the adapter's raw
    logits), before penalties, bias and temperature, as OpenAI and vLLM report them.
    `presence_penalty` / `frequency_penalty` (-2..2, OpenAI's meaning) subtract
    `presence * (count > 0) + frequency * count` from each token's logit, counting the tokens this
    request has generated (not the prompt). `logit_bias`: (token id, -100..100) pairs added to the
    logits before choosing, greedy rows included; a mapping is accepted and stored as sorted pairs.
    """

    max_tokens: int = 64
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    stop_token_ids: tuple[int, ...] = ()
    ignore_eos: bool = False
    logprobs: int | None = None
    prompt_logprobs: int | None = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    logit_bias: tuple[tuple[int, float], ...] = ()

    def __post_init__(self) -> None:
        if self.max_tokens < 1:
            raise ValueError("max_tokens must be at least 1")
        if self.temperature < 0:
            raise ValueError("temperature must be >= 0 (0 is greedy)")
        if not 0 < self.top_p <= 1:
            raise ValueError("top_p must be in (0, 1]")
        if self.top_k < 0:
            raise ValueError("top_k must be >= 0 (0 disables it)")
        if isinstance(self.stop, str):
            object.__setattr__(self, "stop", (self.stop,))
        if not all(self.stop):
            raise ValueError("stop strings must not be empty")
        for name in ("logprobs", "prompt_logprobs"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_LOGPROBS
            ):
                raise ValueError(
                    f"{name} must be None (off) or a whole number from 0 to {MAX_LOGPROBS} "
                    f"(how many alternatives to report besides the chosen token), not {value!r}"
                )
        for name in ("presence_penalty", "frequency_penalty"):
            value = getattr(self, name)
            if not -MAX_PENALTY <= value <= MAX_PENALTY:
                raise ValueError(f"{name} must be between -2 and 2, not {value!r}")
        object.__setattr__(self, "logit_bias", _bias_pairs(self.logit_bias))

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0

    @property
    def penalised(self) -> bool:
        """Whether the tokens generated so far change this request's logits."""
        return self.presence_penalty != 0.0 or self.frequency_penalty != 0.0

    @property
    def adjusts_logits(self) -> bool:
        return self.penalised or bool(self.logit_bias)

    def generator(self, device: torch.device) -> torch.Generator | None:
        if self.greedy:
            return None
        generator = torch.Generator(device=device)
        generator.manual_seed(self.seed if self.seed is not None else int(torch.randint(0, 2**62, ()).item()))
        return generator


def _bias_pairs(bias: Mapping[int, float] | Sequence[tuple[int, float]]) -> tuple[tuple[int, float], ...]:
    pairs = list(bias.items()) if isinstance(bias, Mapping) else list(bias)
    seen: set[int] = set()
    for pair in pairs:
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise ValueError(f"logit_bias must map token ids to biases, got the entry {pair!r}")
        token, value = pair
        if isinstance(token, bool) or not isinstance(token, int) or token < 0:
            raise ValueError(f"logit_bias keys must be token ids (whole numbers >= 0), not {token!r}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"the logit_bias of token {token} must be a number, not {value!r}")
        if not -MAX_LOGIT_BIAS <= value <= MAX_LOGIT_BIAS:
            raise ValueError(f"the logit_bias of token {token} must be between -100 and 100, not {value!r}")
        if token in seen:
            raise ValueError(f"logit_bias names token {token} twice")
        seen.add(token)
    return tuple(sorted((int(token), float(value)) for token, value in pairs))


def sample_next_tokens(
    logits: torch.Tensor,
    params: Sequence[SamplingParams],
    generators: Sequence[torch.Generator | None],
    output_token_ids: Sequence[Sequence[int]],
) -> list[int]:
    """One token per row of `logits` [batch, vocab].

    `output_token_ids[row]` are the tokens that row's request has generated so far; they are read only
    for rows with a presence or frequency penalty (others may pass an empty sequence).
    """
    # = argmax (first maximum on ties), and faster on CPU (docs/engine-benchmark-history.md)
    chosen = logits.max(dim=-1).indices
    adjusted_rows = [row for row, param in enumerate(params) if param.adjusts_logits]
    adjusted: dict[int, torch.Tensor] = {}
    if adjusted_rows:
        processed = adjust_logits(
            logits,
            adjusted_rows,
            [params[row] for row in adjusted_rows],
            [output_token_ids[row] for row in adjusted_rows],
        )
        chosen[adjusted_rows] = processed.max(dim=-1).indices
        adjusted = dict(zip(adjusted_rows, processed, strict=True))
    for row, (param, generator) in enumerate(zip(params, generators, strict=True)):
        if not param.greedy:
            row_logits = adjusted[row] if row in adjusted else logits[row]
            chosen[row] = _sample_row(row_logits.float(), param, generator)
    return chosen.tolist()


def _sample_row(
    logits: torch.Tensor, params: SamplingParams, generator: torch.Generator | None
) -> torch.Tensor:
    logits = logits / params.temperature
    if params.top_k and params.top_k < logits.shape[-1]:
        threshold = torch.topk(logits, params.top_k).values[-1]
        logits = logits.masked_fill(logits < threshold, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    if params.top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        keep = sorted_probs.cumsum(-1) - sorted_probs < params.top_p  # always keeps the most likely token
        sorted_probs = sorted_probs * keep
        probs = torch.zeros_like(probs).scatter_(0, order, sorted_probs)
    return torch.multinomial(probs, 1, generator=generator)[0]
