"""The public face of the serving engine: one base model, many adapters, requests batched together.

    engine = Engine("var/models/smollm2-135m-instruct")
    engine.register_adapter("support-bot", "var/adapters/support-bot")
    engine.start()                                   # background loop thread (or drive `step()` yourself)
    handle = engine.submit(Request(prompt="Hello", adapter="support-bot"))
    for event in handle:                             # streamed tokens
        print(event.text, end="")
    completion = handle.result()

Per-request problems (unknown or broken adapter, prompt too long) finish that request with an error
that `result()` raises; the engine keeps serving everyone else. One engine per process: it owns the
model, the KV-cache and the adapter memory, and it is safe to call from many threads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence as SequenceOf
from pathlib import Path

import torch
from torch import nn

from inference.adapter_cache import AdapterCache
from inference.adapter_merging import MERGE_METHODS, merge_recipe_name
from inference.detokenizer import incremental_text
from inference.errors import AdapterIncompatible, EngineError, EngineStopped, PromptTooLong, RequestCancelled
from inference.kv_cache import KVShape, PagedKVCache
from inference.logprobs import TokenLogprobs, token_logprobs
from inference.lora_layers import (
    PAGE_ROWS,
    attach_multi_lora,
    find_lora_targets,
    linear_shape,
    pool_floats_per_row,
)
from inference.metrics import LatencyHistogram, prometheus_text
from inference.model_loading import LoadedModel, Quantization, load_base_model, wrap_loaded_model
from inference.model_runner import ModelRunner
from inference.paged_attention import register_paged_attention
from inference.request import Completion, Request, RequestHandle, TokenEvent
from inference.sampling import SamplingParams, sample_next_tokens
from inference.scheduler import Scheduler, Sequence
from inference.stop_strings import find_stop, held_back_length

MiB = 1 << 20
logger = logging.getLogger(__name__)


class Engine:
    """Continuous-batching multi-LoRA engine over one Hugging Face causal LM."""

    def __init__(
        self,
        base_model: str | Path | nn.Module,
        *,
        tokenizer: object | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        quantization: Quantization = None,
        enable_lora: bool = True,
        lora_targets: SequenceOf[str] | None = None,
        max_rank: int = 64,
        page_rows: int = PAGE_ROWS,
        device_adapter_budget_bytes: int | None = None,
        host_adapter_budget_bytes: int = 1024 * MiB,
        kv_cache_bytes: int = 256 * MiB,
        block_size: int = 16,
        max_num_seqs: int = 64,
        max_batched_tokens: int = 4096,
        max_prefill_tokens_per_step: int | None = 512,
        prefix_caching: bool = True,
        max_model_len: int | None = None,
    ) -> None:
        """`max_prefill_tokens_per_step`: prompt tokens computed per step at most, a longer prompt is
        prefilled in chunks between the running streams' decodes (None: every prompt in one step, as
        long as `max_batched_tokens` allows). `prefix_caching`: share the KV blocks of equal prompt
        prefixes of the same model (base, or adapter and its generation; see `prefix_cache.py`)."""
        loaded = (
            wrap_loaded_model(base_model, tokenizer)
            if isinstance(base_model, nn.Module)
            else load_base_model(base_model, device=device, dtype=dtype, quantization=quantization)
        )
        self.loaded: LoadedModel = loaded
        self.model = loaded.model
        self.tokenizer = tokenizer or loaded.tokenizer
        self.device = loaded.device
        config = self.model.config
        self.max_model_len = (
            max_model_len or getattr(config, "max_position_embeddings", None) or config.n_positions
        )
        self.eos_token_ids = _eos_ids(self.model, self.tokenizer)
        self.vocab_size: int | None = getattr(config, "vocab_size", None)
        _use_paged_attention(self.model)

        self.lora = None
        self.adapters: AdapterCache | None = None
        if enable_lora:
            rows = self._pool_rows(
                lora_targets, max_rank, page_rows, max_num_seqs, device_adapter_budget_bytes
            )
            self.lora = attach_multi_lora(self.model, rows, lora_targets, loaded.dtype, page_rows)
            self.adapters = AdapterCache(
                self.lora, host_budget_bytes=host_adapter_budget_bytes, page_rows=page_rows, max_rank=max_rank
            )
        shape = KVShape.of(config)
        num_blocks = PagedKVCache.blocks_for_budget(shape, kv_cache_bytes, block_size, loaded.dtype)
        self.kv = PagedKVCache(
            shape, num_blocks=num_blocks, block_size=block_size, dtype=loaded.dtype, device=self.device
        )
        self.scheduler = Scheduler(
            self.kv,
            self.adapters,
            max_num_seqs=max_num_seqs,
            max_batched_tokens=max_batched_tokens,
            max_prefill_tokens_per_step=max_prefill_tokens_per_step,
            prefix_caching=prefix_caching,
        )
        self.runner = ModelRunner(self.model, self.kv, self.lora, self.device)

        self._inbox: deque[Sequence] = deque()
        self._wakeup = threading.Condition()
        self._step_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._counters = {
            "requests": 0,
            "finished": 0,
            "failed": 0,
            "cancelled": 0,
            "steps": 0,
            "generated_tokens": 0,
            "prompt_tokens": 0,
            "batched_seqs": 0,
        }
        self._counter_lock = threading.Lock()
        self._last_batch_size = 0
        self._started_at = time.perf_counter()
        self.ttft = LatencyHistogram()
        self.inter_token = LatencyHistogram()
        self.step_time = LatencyHistogram()

    def _pool_rows(
        self, targets, max_rank: int, page_rows: int, max_num_seqs: int, budget: int | None
    ) -> int:
        """Rows in the device tier: the byte budget divided by what a row costs across all wrapped layers."""
        modules = find_lora_targets(self.model, targets)
        element = self.loaded.dtype.itemsize if hasattr(self.loaded.dtype, "itemsize") else 4
        bytes_per_row = sum(pool_floats_per_row(*linear_shape(m)) for m in modules.values()) * element
        if bytes_per_row == 0:
            raise ValueError("no LoRA target modules found in the base model; pass lora_targets explicitly")
        if budget is None:
            budget = min(512 * MiB, bytes_per_row * max_rank * max_num_seqs)
        pages = max(budget // (bytes_per_row * page_rows), -(-max_rank // page_rows))
        return (pages + 1) * page_rows  # + the zero page

    # --- adapters ----------------------------------------------------------------------------------------
    def register_adapter(
        self, name: str, path: str | Path, *, pin: bool = False, preload: bool = False
    ) -> None:
        """Add or replace (new version) an adapter while serving; pin keeps it resident in both tiers."""
        self._require_lora().register(name, path, pin=pin, preload=preload)

    def remove_adapter(self, name: str) -> None:
        self._require_lora().remove(name)

    def _require_lora(self) -> AdapterCache:
        if self.adapters is None:
            raise AdapterIncompatible(
                "this engine was started with enable_lora=False; it serves the base model only"
            )
        return self.adapters

    # --- requests ----------------------------------------------------------------------------------------
    def submit(self, request: Request) -> RequestHandle:
        """Queue a request; errors that concern it alone arrive through the returned handle."""
        handle = RequestHandle(request)
        self._count("requests")
        try:
            sequence = self._sequence_for(request, handle)
        except EngineError as error:
            self._count("failed")
            handle._finish(Completion(request.request_id, [], "", "error", error=error))
            return handle
        with self._wakeup:
            self._inbox.append(sequence)
            self._wakeup.notify()
        return handle

    def generate(
        self,
        prompts: SequenceOf[str] | SequenceOf[list[int]],
        *,
        adapter: str | SequenceOf[str | None] | None = None,
        sampling: SamplingParams | None = None,
        timeout: float | None = None,
    ) -> list[Completion]:
        """Submit many prompts and wait for all (drives the steps itself when no loop thread runs)."""
        adapters = list(adapter) if isinstance(adapter, list | tuple) else [adapter] * len(prompts)
        handles = []
        for prompt, name in zip(prompts, adapters, strict=True):
            text, ids = (prompt, None) if isinstance(prompt, str) else (None, list(prompt))
            handles.append(
                self.submit(
                    Request(
                        prompt=text, prompt_token_ids=ids, adapter=name, sampling=sampling or SamplingParams()
                    )
                )
            )
        if self._thread is None:
            self.run_until_idle()
        return [handle.result(timeout) for handle in handles]

    def _sequence_for(self, request: Request, handle: RequestHandle) -> Sequence:
        if request.prompt_token_ids is not None:
            ids = list(request.prompt_token_ids)
        elif request.prompt is not None:
            if self.tokenizer is None:
                raise EngineError("this engine has no tokenizer; send prompt_token_ids instead of prompt")
            ids = list(self.tokenizer(request.prompt)["input_ids"])
        else:
            raise EngineError("a request needs a prompt or prompt_token_ids")
        if not ids:
            raise EngineError("the prompt is empty")
        if request.sampling.stop and self.tokenizer is None:
            raise EngineError("stop strings need a tokenizer; use stop_token_ids")
        biased = [token for token, _ in request.sampling.logit_bias]
        if biased and self.vocab_size is not None and max(biased) >= self.vocab_size:
            raise EngineError(
                f"logit_bias names token {max(biased)}, but the model's vocabulary has {self.vocab_size} "
                f"tokens (ids 0 to {self.vocab_size - 1})"
            )
        if len(ids) >= self.max_model_len:
            raise PromptTooLong(
                f"the prompt has {len(ids)} tokens but the model context is {self.max_model_len}; shorten it"
            )
        if self.kv.blocks_needed(len(ids) + 1) > self.kv.allocator.num_blocks - 1:
            raise PromptTooLong(f"the prompt has {len(ids)} tokens, more than the whole KV-cache holds")
        adapter_name = self._adapter_for(request)
        if adapter_name is not None:
            self.adapters.prefetch(self.adapters.resolve(adapter_name))  # disk read starts while it waits
        return Sequence(
            handle=handle,
            token_ids=ids,
            prompt_len=len(ids),
            adapter_name=adapter_name,
            generator=request.sampling.generator(self.device),
        )

    def _adapter_for(self, request: Request) -> str | None:
        if request.adapters:
            if request.adapter is not None:
                raise EngineError("give either adapter or adapters (a weighted merge), not both")
            cache = self._require_lora()
            if request.merge not in MERGE_METHODS:
                raise EngineError(f"unknown merge {request.merge!r}; expected one of {sorted(MERGE_METHODS)}")
            parts = [(cache.resolve(name), float(weight)) for name, weight in request.adapters]
            return cache.register_merge(
                merge_recipe_name(parts, request.merge, request.density),
                parts,
                request.merge,
                request.density,
            )
        if request.adapter is not None:
            self._require_lora().resolve(request.adapter)
        return request.adapter

    # --- the loop ----------------------------------------------------------------------------------------
    def step(self) -> bool:
        """Run one scheduling + forward step; True if anything happened."""
        with self._step_lock:
            self._drain_inbox()
            self._reap_cancelled()
            plan = self.scheduler.schedule()
            for sequence, error in plan.failed:
                self._fail(sequence, error)
            if plan.empty:
                return bool(plan.failed)
            started = time.perf_counter()
            prefill_tokens = sum(s.num_scheduled for s in plan.prefill)  # computed, not from the cache
            try:
                output = self.runner.execute(plan.decode, plan.prefill)
                order, logits = output.order, output.logits
                params = [s.request.sampling for s in order]
                generated = [
                    s.token_ids[s.prompt_len :] if p.penalised else ()
                    for s, p in zip(order, params, strict=True)
                ]
                tokens = sample_next_tokens(logits, params, [s.generator for s in order], generated)
                reported = token_logprobs(logits, tokens, [p.logprobs for p in params])
                for sequence, (first, prompt_logits) in output.prompt_logits.items():
                    _keep_prompt_logprobs(sequence, first, prompt_logits)
                self.scheduler.computed(plan)  # before any finishes: its full blocks stay cached
            except Exception as error:  # a bug or OOM in one step must not take the engine down
                for sequence in [*plan.decode, *plan.prefill]:
                    self._fail(sequence, EngineError(f"the step running this request failed: {error!r}"))
                return True
            now = time.perf_counter()
            self.step_time.observe(now - started)
            self._counters["steps"] += 1
            self._counters["batched_seqs"] += len(order)
            self._counters["prompt_tokens"] += prefill_tokens
            self._last_batch_size = len(order)
            for row, (sequence, token) in enumerate(zip(order, tokens, strict=True)):
                kept = logits[row] if sequence.request.keep_logits else None
                self._append(sequence, token, kept, reported[row], now)
            return True

    def run_until_idle(self, max_steps: int | None = None) -> None:
        """Drive steps in this thread until no request is left (tests, scripts, benchmarks)."""
        steps = 0
        while self._inbox or self.scheduler.running or self.scheduler.waiting:
            if not self.step():
                time.sleep(0.001)  # waiting only on adapter reads from disk
            steps += 1
            if max_steps is not None and steps >= max_steps:
                return

    def start(self) -> Engine:
        """Serve from a background thread; `submit` from any thread."""
        if self._thread is None:
            self._stopping = False
            self._thread = threading.Thread(target=self._loop, name="inference-engine", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the loop and fail whatever is still queued or running with EngineStopped."""
        self._stopping = True
        with self._wakeup:
            self._wakeup.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        with self._step_lock:
            self._drain_inbox()
            for sequence in self.scheduler.all_sequences():
                self._fail(sequence, EngineStopped("the engine shut down before this request finished"))

    def close(self) -> None:
        self.stop()
        if self.adapters is not None:
            self.adapters.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _loop(self) -> None:
        while not self._stopping:
            try:
                if self.step():
                    continue
            except Exception:  # a scheduler bug must not silently end serving for the whole process
                logger.exception("engine step failed; the loop keeps running")
                time.sleep(0.1)
                continue
            with self._wakeup:
                if not self._inbox and not self._stopping:
                    self._wakeup.wait(timeout=0.002 if self.scheduler.waiting else 0.1)

    def _drain_inbox(self) -> None:
        with self._wakeup:
            while self._inbox:
                self.scheduler.add(self._inbox.popleft())

    def _reap_cancelled(self) -> None:
        for sequence in self.scheduler.all_sequences():
            if sequence.handle.cancelled:
                self.scheduler.finish(sequence)
                self._counters["cancelled"] += 1
                self._complete(sequence, "cancelled", RequestCancelled("cancelled by the caller"))

    def _append(
        self,
        sequence: Sequence,
        token: int,
        logits: torch.Tensor | None,
        reported: TokenLogprobs | None,
        now: float,
    ) -> None:
        if sequence.first_token_at is None:
            sequence.first_token_at = now
            self.ttft.observe(now - sequence.handle.submitted_at)
        else:
            self.inter_token.observe(now - sequence.last_token_at)
        sequence.last_token_at = now
        sequence.token_ids.append(token)
        self._counters["generated_tokens"] += 1
        if logits is not None:
            sequence.logits.append(logits.detach().clone())
        if reported is not None:
            sequence.logprobs.append(reported.logprob)
            sequence.top_logprobs.append(reported.top)
        params = sequence.request.sampling
        finish = None
        if token in params.stop_token_ids or (not params.ignore_eos and token in self.eos_token_ids):
            finish = "stop"
        at_length = (
            sequence.num_generated >= params.max_tokens or len(sequence.token_ids) >= self.max_model_len
        )
        delta = ""
        if self.tokenizer is not None:
            if finish is None:
                previous = len(sequence.text)
                sequence.text += incremental_text(self.tokenizer, sequence, flush=at_length)
                cut = find_stop(sequence.text, params.stop, previous) if params.stop else None
                if cut is not None:
                    sequence.text = sequence.text[:cut]
                    finish = "stop"
            # what might still become a stop string waits, unless the answer ends here
            ending = finish is not None or at_length
            held = 0 if ending or not params.stop else held_back_length(sequence.text, params.stop)
            end = max(sequence.streamed_chars, len(sequence.text) - held)
            delta = sequence.text[sequence.streamed_chars : end]
            sequence.streamed_chars = end
        if delta or self.tokenizer is None or finish is None:
            logprob, top = (reported.logprob, reported.top) if reported is not None else (None, ())
            sequence.handle._emit(TokenEvent(token, delta, logprob, top))
        if finish is None and at_length:
            finish = "length"
        if finish is not None:
            self.scheduler.finish(sequence)
            self._counters["finished"] += 1
            self._complete(sequence, finish)

    def _fail(self, sequence: Sequence, error: EngineError) -> None:
        self.scheduler.finish(sequence)
        self._count("failed")
        self._complete(sequence, "error", error)

    def _count(self, key: str) -> None:
        with self._counter_lock:  # submitters (any thread) and the loop both count
            self._counters[key] += 1

    def _complete(self, sequence: Sequence, reason: str, error: EngineError | None = None) -> None:
        handle = sequence.handle
        now = time.perf_counter()
        ttft = sequence.first_token_at - handle.submitted_at if sequence.first_token_at else None
        params = sequence.request.sampling
        handle._finish(
            Completion(
                request_id=handle.request_id,
                token_ids=sequence.token_ids[sequence.prompt_len :],
                # all of it once flushed at the end; cut short, a held-back tail (maybe a stop) was not said
                text=sequence.text[: sequence.streamed_chars],
                finish_reason=reason,
                error=error,
                time_to_first_token_s=ttft,
                latency_s=now - handle.submitted_at,
                logits=sequence.logits if sequence.request.keep_logits else None,
                logprobs=sequence.logprobs if params.logprobs is not None else None,
                top_logprobs=sequence.top_logprobs if params.logprobs is not None else None,
                prompt_logprobs=sequence.prompt_logprobs,
                prompt_top_logprobs=sequence.prompt_top_logprobs,
            )
        )

    # --- visibility --------------------------------------------------------------------------------------
    def stats(self) -> dict:
        """Queue depth, batch size, tokens/s, TTFT, and the adapter cache's tiers, hits and evictions."""
        elapsed = time.perf_counter() - self._started_at
        counters = dict(self._counters)
        return {
            **counters,
            "queue_depth": len(self.scheduler.waiting) + len(self._inbox),
            "running": len(self.scheduler.running),
            "batch_size": self._last_batch_size,
            "mean_batch_size": counters["batched_seqs"] / max(1, counters["steps"]),
            "tokens_per_s": counters["generated_tokens"] / max(elapsed, 1e-9),
            "preemptions": self.scheduler.preemptions,
            "kv_blocks_free": self.scheduler.blocks.num_available,  # evictable cached blocks count as free
            "kv_blocks_total": self.kv.allocator.num_blocks - 1,
            "prefix_cache": self.scheduler.blocks.stats(),
            "time_to_first_token": self.ttft.summary(),
            "inter_token": self.inter_token.summary(),
            "step": self.step_time.summary(),
            "adapters": self.adapters.stats() if self.adapters is not None else None,
            "resident_adapters": self.adapters.resident() if self.adapters is not None else None,
        }

    def prometheus(self) -> str:
        """`stats()` in Prometheus text format, for a /metrics view."""
        histograms = {
            "time_to_first_token": self.ttft,
            "inter_token": self.inter_token,
            "step": self.step_time,
        }
        if self.adapters is not None:
            histograms |= {
                "adapter_disk_load": self.adapters.disk_load,
                "adapter_device_copy": self.adapters.device_copy,
            }
        return prometheus_text(self.stats(), histograms)


def _keep_prompt_logprobs(sequence: Sequence, first: int, prompt_logits: torch.Tensor) -> None:
    """Each prompt token's logprob given the tokens before it, chunk by chunk (row j is position
    first + j, predicting token first + j + 1), once per request (a preemption's re-prefill computes
    only what is missing); the first token has none."""
    if sequence.prompt_logprobs is None:
        sequence.prompt_logprobs, sequence.prompt_top_logprobs = [None], [()]
    assert first == len(sequence.prompt_logprobs) - 1, "prompt logprobs arrive in order"
    predicted = sequence.token_ids[first + 1 : first + 1 + len(prompt_logits)]
    top = sequence.request.sampling.prompt_logprobs
    found = token_logprobs(prompt_logits, predicted, [top] * len(predicted))
    sequence.prompt_logprobs.extend(entry.logprob for entry in found)
    sequence.prompt_top_logprobs.extend(entry.top for entry in found)


def _use_paged_attention(model: nn.Module) -> None:
    name = register_paged_attention()
    try:
        model.set_attn_implementation(name)
    except (AttributeError, ValueError):
        model.config._attn_implementation = name


def _eos_ids(model: nn.Module, tokenizer: object | None) -> frozenset[int]:
    candidates = [getattr(tokenizer, "eos_token_id", None)]
    generation = getattr(model, "generation_config", None)
    candidates += [getattr(generation, "eos_token_id", None), getattr(model.config, "eos_token_id", None)]
    ids: set[int] = set()
    for value in candidates:
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, list | tuple):
            ids.update(v for v in value if isinstance(v, int))
    return frozenset(ids)
