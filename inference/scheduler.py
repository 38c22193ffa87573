"""Continuous batching: who runs in the next step, decided again at every step.

Running sequences decode one token per step; waiting ones are admitted (prefilled) whenever free KV
blocks, the sequence cap and the token budget allow and their adapter is resident, so requests join and
leave the batch at every step. A request whose adapter is still being read from disk waits without
blocking the ones behind it. When decoding runs out of KV blocks, the newest running sequence is
preempted (its blocks freed, recomputed later from its tokens) rather than failing anyone.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from dataclasses import dataclass, field

import torch

from inference.adapter_cache import AdapterCache, AdapterKey
from inference.errors import EngineError
from inference.kv_cache import PagedKVCache
from inference.logprobs import TopLogprobs
from inference.lora_layers import ResidentAdapter
from inference.request import RequestHandle


@dataclass(eq=False)
class Sequence:
    """A request inside the engine: its tokens so far, its KV blocks, its adapter rows."""

    handle: RequestHandle
    token_ids: list[int]
    prompt_len: int
    adapter_name: str | None
    generator: torch.Generator | None
    num_computed: int = 0
    blocks: list[int] = field(default_factory=list)
    adapter_key: AdapterKey | None = None
    resident: ResidentAdapter | None = None
    first_token_at: float | None = None
    last_token_at: float | None = None
    text: str = ""
    prefix_offset: int = 0  # incremental detokenization, in generated tokens (see detokenizer.py)
    read_offset: int = 0
    streamed_chars: int = 0  # text[:streamed_chars] has been streamed; the rest may start a stop string
    logits: list[torch.Tensor] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)  # of each generated token, when asked for
    top_logprobs: list[TopLogprobs] = field(default_factory=list)
    prompt_logprobs: list[float | None] | None = None  # computed at the first prefill, kept across preemption
    prompt_top_logprobs: list[TopLogprobs] | None = None
    preemptions: int = 0

    @property
    def request(self):
        return self.handle.request

    @property
    def num_generated(self) -> int:
        return len(self.token_ids) - self.prompt_len

    @property
    def wants_prompt_logits(self) -> bool:
        """Asked for prompt logprobs and has not got them yet (a re-prefill after preemption has)."""
        return self.request.sampling.prompt_logprobs is not None and self.prompt_logprobs is None


@dataclass
class ScheduledStep:
    decode: list[Sequence]
    prefill: list[Sequence]
    failed: list[tuple[Sequence, EngineError]]

    @property
    def empty(self) -> bool:
        return not self.decode and not self.prefill


class Scheduler:
    def __init__(
        self,
        kv_cache: PagedKVCache,
        adapters: AdapterCache | None,
        *,
        max_num_seqs: int,
        max_batched_tokens: int,
    ) -> None:
        self.kv = kv_cache
        self.adapters = adapters
        self.max_num_seqs = max_num_seqs
        self.max_batched_tokens = max_batched_tokens
        self.waiting: deque[Sequence] = deque()
        self.running: list[Sequence] = []
        self.preemptions = 0

    def add(self, sequence: Sequence) -> None:
        self.waiting.append(sequence)

    def schedule(self) -> ScheduledStep:
        failed: list[tuple[Sequence, EngineError]] = []
        decode = self._schedule_decodes()
        prefill = self._admit(len(decode), failed)
        return ScheduledStep(decode, prefill, failed)

    def _schedule_decodes(self) -> list[Sequence]:
        scheduled: list[Sequence] = []
        queue = list(self.running)
        while queue:
            sequence = queue.pop(0)
            needed = self.kv.blocks_needed(len(sequence.token_ids)) - len(sequence.blocks)
            while needed > 0:
                blocks = self.kv.allocator.allocate(needed)
                if blocks is not None:
                    sequence.blocks.extend(blocks)
                    break
                victim = queue.pop() if queue else sequence  # the newest running sequence gives way
                self._preempt(victim)
                if victim is sequence:
                    break
            else:
                scheduled.append(sequence)
                continue
            if sequence in self.running:
                scheduled.append(sequence)
        return scheduled

    def _preempt(self, sequence: Sequence) -> None:
        self.running.remove(sequence)
        self._release(sequence)
        sequence.num_computed = 0
        sequence.adapter_key = None  # re-admission resolves the adapter's current version again
        sequence.preemptions += 1
        self.preemptions += 1
        self.waiting.appendleft(sequence)

    def _admit(self, num_decodes: int, failed: list[tuple[Sequence, EngineError]]) -> list[Sequence]:
        admitted: list[Sequence] = []
        budget = self.max_batched_tokens - num_decodes
        skipped: list[Sequence] = []
        while self.waiting and len(self.running) + len(admitted) < self.max_num_seqs:
            sequence = self.waiting.popleft()
            tokens = len(sequence.token_ids)
            if tokens > budget and (admitted or num_decodes):
                self.waiting.appendleft(sequence)
                break
            blocks_needed = self.kv.blocks_needed(tokens)
            if blocks_needed > self.kv.allocator.num_free:
                self.waiting.appendleft(sequence)
                break
            if sequence.adapter_name is not None and sequence.resident is None:
                try:
                    sequence.resident = self._acquire_adapter(sequence)
                except EngineError as error:
                    failed.append((sequence, error))
                    continue
                if sequence.resident is None:  # still loading from disk, or no free rows right now
                    skipped.append(sequence)
                    continue
            sequence.blocks = self.kv.allocator.allocate(blocks_needed) or []
            budget -= tokens
            admitted.append(sequence)
        self.waiting.extendleft(reversed(skipped))
        self.running.extend(admitted)
        return admitted

    def _acquire_adapter(self, sequence: Sequence) -> ResidentAdapter | None:
        assert self.adapters is not None, "adapters were requested from an engine built without LoRA"
        if sequence.adapter_key is None:
            sequence.adapter_key = self.adapters.resolve(sequence.adapter_name)  # the newest version, now
        return self.adapters.acquire(sequence.adapter_key)

    def finish(self, sequence: Sequence) -> None:
        """Take a sequence out (finished, cancelled or failed) and give back what it holds."""
        if sequence in self.running:
            self.running.remove(sequence)
        else:
            with contextlib.suppress(ValueError):
                self.waiting.remove(sequence)
        self._release(sequence)

    def _release(self, sequence: Sequence) -> None:
        if sequence.blocks:
            self.kv.allocator.free(sequence.blocks)
            sequence.blocks = []
        if sequence.resident is not None and self.adapters is not None:
            self.adapters.release(sequence.resident)
            sequence.resident = None

    def all_sequences(self) -> list[Sequence]:
        return [*self.running, *self.waiting]

    def oldest_wait_s(self) -> float:
        if not self.waiting:
            return 0.0
        return time.perf_counter() - self.waiting[0].handle.submitted_at
