"""Continuous batching: who runs in the next step, decided again at every step.

Every step has a token budget (`max_batched_tokens`). Running sequences that decode take one token each
first; then prompts being prefilled take what is left, at most `max_prefill_tokens_per_step` of it: a
prompt longer than that is prefilled in chunks over several steps (chunked prefill), interleaved with
everyone else's decodes, so a long prompt never freezes the running streams. Waiting sequences are
admitted (FCFS) whenever free KV blocks, the sequence cap and the budget allow and their adapter is
resident; a request whose adapter is still being read from disk waits without blocking the ones behind it.

At admission the prompt's full blocks already in the prefix cache (same tokens, same model key: see
`prefix_cache.py`) are taken instead of computed, and the blocks for the rest of the prompt are
allocated at once, so a prefill in progress never runs out of memory. At least the last prompt token
is always computed (its logits pick the first answer token). A request that wants prompt logprobs takes
cached blocks only for positions whose logprobs it already has (a cached block has keys and values, not
logits). When decoding runs out of KV blocks, the newest running sequence is preempted (its blocks
released; recomputed later from its tokens, which its own published blocks make cheap) rather than
failing anyone.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, field

import torch

from inference.adapter_cache import AdapterCache, AdapterKey
from inference.errors import EngineError
from inference.kv_cache import PagedKVCache
from inference.logprobs import TopLogprobs
from inference.lora_layers import ResidentAdapter
from inference.prefix_cache import PrefixCache, extend_hashes
from inference.request import RequestHandle


@dataclass(eq=False)
class Sequence:
    """A request inside the engine: its tokens so far, its KV blocks, its adapter rows.

    `token_ids[:num_computed]` have their keys and values in `blocks`; a step computes the next
    `num_scheduled` of them (a prompt chunk, or the one token a decode appends)."""

    handle: RequestHandle
    token_ids: list[int]
    prompt_len: int
    adapter_name: str | None
    generator: torch.Generator | None
    num_computed: int = 0
    num_scheduled: int = 0
    blocks: list[int] = field(default_factory=list)
    block_hashes: list[bytes] = field(default_factory=list)  # chain hashes of its full blocks' tokens
    hashed_for: Hashable = None  # the model key those hashes were made with
    num_published: int = 0  # blocks[:num_published] are in the prefix cache (taken from it or published)
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
    # one entry per prompt token once done (None / () for the first), filled chunk by chunk, kept across
    # preemption: a re-prefill computes only the positions still missing
    prompt_logprobs: list[float | None] | None = None
    prompt_top_logprobs: list[TopLogprobs] | None = None
    preemptions: int = 0

    @property
    def request(self):
        return self.handle.request

    @property
    def num_generated(self) -> int:
        return len(self.token_ids) - self.prompt_len

    @property
    def model_key(self) -> AdapterKey | None:
        """What computed this sequence's keys and values besides its tokens: the prefix cache's key."""
        return self.adapter_key

    @property
    def wants_prompt_logits(self) -> bool:
        """Asked for prompt logprobs and does not have all of them yet."""
        if self.request.sampling.prompt_logprobs is None:
            return False
        return self.prompt_logprobs is None or len(self.prompt_logprobs) < self.prompt_len

    @property
    def prompt_logits_from(self) -> int:
        """The first prompt position whose logits are still needed (position p predicts token p + 1)."""
        return max(0, len(self.prompt_logprobs) - 1) if self.prompt_logprobs else 0


@dataclass
class ScheduledStep:
    """Who computes what in one step: `decode` one token each, `prefill` a chunk of their prompt
    (`num_scheduled` tokens each, from `num_computed`)."""

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
        max_prefill_tokens_per_step: int | None = None,
        prefix_caching: bool = True,
    ) -> None:
        if max_prefill_tokens_per_step is not None and max_prefill_tokens_per_step < 1:
            raise ValueError("max_prefill_tokens_per_step must be at least 1 (or None: prompts whole)")
        self.kv = kv_cache
        self.adapters = adapters
        self.blocks = PrefixCache(kv_cache.allocator, enabled=prefix_caching)
        self.max_num_seqs = max_num_seqs
        self.max_batched_tokens = max_batched_tokens
        self.max_prefill_tokens_per_step = max_prefill_tokens_per_step
        self.waiting: deque[Sequence] = deque()
        self.running: list[Sequence] = []
        self.preemptions = 0

    def add(self, sequence: Sequence) -> None:
        self.waiting.append(sequence)

    def schedule(self) -> ScheduledStep:
        failed: list[tuple[Sequence, EngineError]] = []
        decode = self._schedule_decodes()
        budget = _Budget(self.max_batched_tokens - len(decode), self.max_prefill_tokens_per_step)
        prefill = self._continue_prefills(budget, alone=not decode)
        prefill += self._admit(budget, failed, alone=not decode and not prefill)
        return ScheduledStep(decode, prefill, failed)

    def _schedule_decodes(self) -> list[Sequence]:
        """Running sequences with one token left to compute, each given the block it needs (preempting
        the newest running sequences when there is none)."""
        scheduled: list[Sequence] = []
        queue = list(self.running)
        while queue:
            sequence = queue.pop(0)
            if not self._give_blocks(sequence, queue):
                continue  # it was preempted itself
            if len(sequence.token_ids) - sequence.num_computed == 1:
                sequence.num_scheduled = 1
                scheduled.append(sequence)
        return scheduled

    def _give_blocks(self, sequence: Sequence, queue: list[Sequence]) -> bool:
        """Allocate the blocks `sequence`'s tokens still lack, preempting the newest of `queue` (taken out
        of it) while too few are free. False when nobody newer was left and it gave way itself."""
        needed = self.kv.blocks_needed(len(sequence.token_ids)) - len(sequence.blocks)
        if needed <= 0:
            return True
        while True:
            blocks = self.blocks.allocate(needed)
            if blocks is not None:
                sequence.blocks.extend(blocks)
                return True
            victim = queue.pop() if queue else sequence  # the newest running sequence gives way
            self._preempt(victim)
            if victim is sequence:
                return False

    def _continue_prefills(self, budget: _Budget, alone: bool) -> list[Sequence]:
        """The next chunk of each prompt whose prefill is under way, oldest first."""
        scheduled = []
        for sequence in self.running:
            left = len(sequence.token_ids) - sequence.num_computed
            if left <= 1:
                continue
            chunk = budget.take(left, alone=alone and not scheduled)
            if chunk == 0:
                break
            sequence.num_scheduled = chunk
            scheduled.append(sequence)
        return scheduled

    def _preempt(self, sequence: Sequence) -> None:
        self.running.remove(sequence)
        self._release(sequence)
        sequence.num_computed = 0
        sequence.num_scheduled = 0
        sequence.adapter_key = None  # re-admission resolves the adapter's current version again
        sequence.preemptions += 1
        self.preemptions += 1
        self.waiting.appendleft(sequence)

    def _admit(
        self, budget: _Budget, failed: list[tuple[Sequence, EngineError]], alone: bool
    ) -> list[Sequence]:
        admitted: list[Sequence] = []
        skipped: list[Sequence] = []
        while self.waiting and len(self.running) + len(admitted) < self.max_num_seqs:
            sequence = self.waiting.popleft()
            if sequence.adapter_name is not None and sequence.adapter_key is None:
                try:
                    sequence.adapter_key = self._require_adapters().resolve(sequence.adapter_name)
                except EngineError as error:  # removed since it was submitted
                    failed.append((sequence, error))
                    continue
            cached = self._cached_prefix(sequence)
            tokens = len(sequence.token_ids)
            computed = len(cached) * self.kv.block_size
            new_blocks = self.kv.blocks_needed(tokens) - len(cached)
            if new_blocks > self.blocks.num_available - self.blocks.num_evictable(cached):
                self.waiting.appendleft(sequence)
                break
            chunk = budget.peek(tokens - computed, alone=alone and not admitted)
            if chunk == 0:
                self.waiting.appendleft(sequence)
                break
            if sequence.adapter_name is not None and sequence.resident is None:
                try:
                    sequence.resident = self._require_adapters().acquire(sequence.adapter_key)
                except EngineError as error:
                    failed.append((sequence, error))
                    continue
                if sequence.resident is None:  # still loading from disk, or no free rows right now
                    skipped.append(sequence)
                    continue
            budget.take(tokens - computed, alone=alone and not admitted)
            self.blocks.take(cached)
            sequence.blocks = cached + (self.blocks.allocate(new_blocks) or [])
            sequence.num_published = len(cached)
            sequence.num_computed = computed
            sequence.num_scheduled = chunk
            self.blocks.count_lookup(tokens, computed)
            admitted.append(sequence)
        self.waiting.extendleft(reversed(skipped))
        self.running.extend(admitted)
        return admitted

    def _cached_prefix(self, sequence: Sequence) -> list[int]:
        """The prefix-cache blocks this sequence may start from (see the module docstring for the limits)."""
        if not self.blocks.enabled:
            return []
        block_size = self.kv.block_size
        tokens = len(sequence.token_ids)
        usable = tokens - 1  # the last token is always computed: its logits are sampled
        if sequence.wants_prompt_logits:
            usable = min(usable, sequence.prompt_logits_from)
        if usable < block_size:
            return []
        return self.blocks.match(self._hashes(sequence, tokens)[: usable // block_size])

    def _hashes(self, sequence: Sequence, tokens: int) -> list[bytes]:
        """The chain hashes of the full blocks of `sequence.token_ids[:tokens]`, under its model key."""
        if sequence.hashed_for != sequence.model_key:  # its adapter was resolved again (after preemption)
            sequence.block_hashes, sequence.hashed_for = [], sequence.model_key
        return extend_hashes(
            sequence.block_hashes, sequence.token_ids, sequence.model_key, self.kv.block_size, tokens
        )

    def _require_adapters(self) -> AdapterCache:
        assert self.adapters is not None, "adapters were requested from an engine built without LoRA"
        return self.adapters

    def computed(self, step: ScheduledStep) -> None:
        """After a step ran: its tokens are in the cache; full blocks among them are published."""
        block_size = self.kv.block_size
        for sequence in [*step.decode, *step.prefill]:
            sequence.num_computed += sequence.num_scheduled
            sequence.num_scheduled = 0
            if not self.blocks.enabled:
                continue
            full = sequence.num_computed // block_size
            if full <= sequence.num_published:
                continue
            hashes = self._hashes(sequence, sequence.num_computed)
            for index in range(sequence.num_published, full):
                self.blocks.publish(sequence.blocks[index], hashes[index])
            sequence.num_published = full

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
            self.blocks.release(sequence.blocks)
            sequence.blocks = []
        sequence.num_published = 0
        if sequence.resident is not None and self.adapters is not None:
            self.adapters.release(sequence.resident)
            sequence.resident = None

    def all_sequences(self) -> list[Sequence]:
        return [*self.running, *self.waiting]


class _Budget:
    """The step's token budget: `tokens` in all, `prefill` at most for prompts (None: prompts whole)."""

    def __init__(self, tokens: int, prefill: int | None) -> None:
        self.tokens = tokens
        self.prefill = prefill

    def peek(self, left: int, *, alone: bool) -> int:
        """How many of a prompt's `left` tokens this step computes (0: none, it waits)."""
        if self.prefill is None:  # no chunking: the whole rest of the prompt, or alone when it is longer
            return left if left <= self.tokens or alone else 0
        return max(0, min(left, self.tokens, self.prefill))

    def take(self, left: int, *, alone: bool) -> int:
        chunk = self.peek(left, alone=alone)
        self.tokens -= chunk
        if self.prefill is not None:
            self.prefill -= chunk
        return chunk
