"""What a caller sends (`Request`), what it gets back while it runs (`RequestHandle`) and at the end."""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch

from inference.errors import EngineError
from inference.logprobs import TopLogprobs
from inference.sampling import SamplingParams


@dataclass
class Request:
    """One generation: a prompt (text, or token ids), at most one adapter, and how to sample.

    `adapters` asks for a weighted merge instead of one adapter, e.g. [("math", 0.7), ("style", 0.3)];
    `merge` picks how ("linear", "ties", "dare_linear", "dare_ties") and `density` the share kept by
    TIES/DARE. `keep_logits` keeps each generated token's logits row (tests, debugging).
    """

    prompt: str | None = None
    prompt_token_ids: list[int] | None = None
    adapter: str | None = None
    adapters: list[tuple[str, float]] | None = None
    merge: str = "linear"
    density: float = 1.0
    sampling: SamplingParams = field(default_factory=SamplingParams)
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    keep_logits: bool = False


@dataclass(frozen=True)
class TokenEvent:
    """One streamed token: its id and the text it adds (empty when the engine has no tokenizer).

    `text` may be empty and come later with another token's: text that could be the start of a stop
    string is held back until it cannot be (then it is given out, or cut when the stop string completes),
    so the pieces always add up to `Completion.text`. `logprob` and `top_logprobs` (token id, logprob;
    most likely first) are this token's when the request asked for `logprobs`, else None and ().
    """

    token_id: int
    text: str
    logprob: float | None = None
    top_logprobs: TopLogprobs = ()


@dataclass
class Completion:
    """How a request ended. `text` is the streamed pieces joined (for "cancelled" and "error" too).

    With `SamplingParams.logprobs`, `logprobs[i]` and `top_logprobs[i]` belong to `token_ids[i]`; with
    `prompt_logprobs`, `prompt_logprobs[i]` is prompt token i's logprob given the tokens before it (None
    for the first) and `prompt_top_logprobs[i]` the alternatives there (() for the first). All four are
    None when not asked for.
    """

    request_id: str
    token_ids: list[int]
    text: str
    finish_reason: str  # "length" | "stop" | "error" | "cancelled"
    error: EngineError | None = None
    time_to_first_token_s: float | None = None
    latency_s: float | None = None
    logits: list[torch.Tensor] | None = None
    logprobs: list[float] | None = None
    top_logprobs: list[TopLogprobs] | None = None
    prompt_logprobs: list[float | None] | None = None
    prompt_top_logprobs: list[TopLogprobs] | None = None


class RequestHandle:
    """Stream tokens by iterating, wait with `result()`, stop early with `cancel()`; thread-safe."""

    _DONE = object()

    def __init__(self, request: Request) -> None:
        self.request = request
        self.request_id = request.request_id
        self.submitted_at = time.perf_counter()
        self._events: queue.Queue = queue.Queue()
        self._done = threading.Event()
        self._cancelled = threading.Event()
        self._completion: Completion | None = None

    # --- caller side ----------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[TokenEvent]:
        while True:
            event = self._events.get()
            if event is self._DONE:
                return
            yield event

    def result(self, timeout: float | None = None) -> Completion:
        """The finished completion; raises the request's error (e.g. AdapterNotFound) if it failed."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"request {self.request_id} did not finish within {timeout} s")
        assert self._completion is not None
        if self._completion.error is not None:
            raise self._completion.error
        return self._completion

    @property
    def completion(self) -> Completion | None:
        """The completion without raising (None while running)."""
        return self._completion

    def done(self) -> bool:
        return self._done.is_set()

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    # --- engine side ----------------------------------------------------------------------------------
    def _emit(self, event: TokenEvent) -> None:
        self._events.put(event)

    def _finish(self, completion: Completion) -> None:
        self._completion = completion
        self._done.set()
        self._events.put(self._DONE)
