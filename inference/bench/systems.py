"""The systems measured on the same requests; each runs in its own process (see `__main__`)."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable

import torch

from inference.bench.report import summary
from inference.bench.scenarios import kv_tokens, run_chat, run_long_prompts
from inference.bench.workload import BenchRequest, Workload, build_base_model
from primitives.percentiles import percentile


def run_system(name: str, workload: Workload, options: dict) -> dict:
    torch.set_num_threads(workload.threads)
    runner: Callable[[Workload, dict], dict] = SYSTEMS[name]
    result = runner(workload, options)
    result["system"] = name
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


# --- the engine ----------------------------------------------------------------------------------------
def run_engine(
    workload: Workload,
    options: dict,
    *,
    lora: bool = True,
    attribution=None,
    prefix_caching: bool = True,
    chunked_prefill: bool = True,
) -> dict:
    """The engine in a closed loop (or the chat / long-prompt scenario, by `workload.kind`); with
    `attribution` (an `AttributionHandOff`), every finished answer is handed to it and it is told when
    the measured run ends (it is waited for before the run starts)."""
    from inference.engine import Engine
    from inference.kv_cache import KVShape
    from inference.sampling import SamplingParams

    model = build_base_model(workload)
    kv_bytes = int(KVShape.of(model.config).bytes_per_token(torch.float32) * kv_tokens(workload) * 1.3)
    engine = Engine(
        model,
        enable_lora=lora,
        lora_targets=workload.targets,
        # the long prompts do not take the streams' places (their KV room is counted in kv_tokens too)
        max_num_seqs=workload.concurrency + len(workload.long_prompts),
        kv_cache_bytes=kv_bytes,
        max_rank=max(workload.adapter_ranks.values(), default=8),
        prefix_caching=prefix_caching,
        max_prefill_tokens_per_step=workload.max_prefill_tokens if chunked_prefill else None,
    )
    if lora:
        for adapter, path in workload.adapters.items():
            engine.register_adapter(adapter, path)
    warm_up = [list(range(3, 11))] * 2  # tokens no workload starts with: nothing useful left in the cache
    engine.generate(warm_up, sampling=SamplingParams(max_tokens=4, ignore_eos=True))

    if workload.kind == "chat":
        result = run_chat(engine, workload, lora)
    elif workload.kind == "long-prompt":
        result = run_long_prompts(engine, workload, lora)
    else:
        result = _run_requests(engine, workload, lora, attribution)
    stats = engine.stats()
    result["mean_batch_size"] = stats["mean_batch_size"]
    result["prefix_cache"] = stats["prefix_cache"]
    result["prefix_hit_rate"] = stats["prefix_cache"]["hit_rate"] if prefix_caching else None
    result["prompt_tokens_computed"] = stats["prompt_tokens"]
    if lora:
        cache = stats["adapters"]
        disk, copy = engine.adapters.disk_load, engine.adapters.device_copy
        result["cold_load_p50_s"] = (disk.percentile(50) or 0) + (copy.percentile(50) or 0)
        result["cold_load_p95_s"] = (disk.percentile(95) or 0) + (copy.percentile(95) or 0)
        result["adapter_cache"] = {k: cache[k] for k in ("disk_loads", "host_resident", "device_resident")}
        result["adapter_cache"]["evictions"] = cache["evictions"]
    engine.close()
    return result


def _run_requests(engine, workload: Workload, lora: bool, attribution) -> dict:
    """Independent requests, `concurrency` clients in a closed loop."""
    from inference.request import Request
    from inference.sampling import SamplingParams

    pending = list(reversed(workload.requests))
    in_flight, done = [], []

    def submit_next() -> None:
        request = pending.pop()
        sampling = SamplingParams(max_tokens=request.max_tokens, ignore_eos=True)
        adapter = request.adapter if lora else None
        handle = engine.submit(Request(prompt_token_ids=request.prompt, adapter=adapter, sampling=sampling))
        in_flight.append((handle, request.prompt, adapter))

    if attribution is not None:
        attribution.wait_ready()
    started = time.perf_counter()
    while pending and len(in_flight) < workload.concurrency:
        submit_next()
    while in_flight:
        if not engine.step():
            time.sleep(0.0002)  # only waiting for an adapter read from disk
        finished = [entry for entry in in_flight if entry[0].done()]
        in_flight = [entry for entry in in_flight if not entry[0].done()]
        for handle, prompt, adapter in finished:
            completion = handle.result()
            done.append(completion)
            if attribution is not None:
                attribution.hand_off(adapter, prompt, completion.token_ids)
        while pending and len(in_flight) < workload.concurrency:
            submit_next()
    wall = time.perf_counter() - started
    if attribution is not None:
        attribution.engine_finished()
    return summary(
        tokens=sum(len(c.token_ids) for c in done),
        wall=wall,
        ttfts=[c.time_to_first_token_s for c in done],
        itls=[(c.latency_s - c.time_to_first_token_s) / max(1, len(c.token_ids) - 1) for c in done],
    )


def run_engine_no_prefix_cache(workload: Workload, options: dict) -> dict:
    """`engine` with prefix caching off: every prompt computed from its first token."""
    return run_engine(workload, options, prefix_caching=False)


def run_engine_unchunked(workload: Workload, options: dict) -> dict:
    """`engine` without chunked prefill: every prompt computed whole in the step that admits it."""
    return run_engine(workload, options, chunked_prefill=False)


def run_base_only(workload: Workload, options: dict) -> dict:
    return run_engine(workload, options, lora=False)


def run_engine_attributed(workload: Workload, options: dict) -> dict:
    """`engine`, while one attribution worker process attributes every answer (attribution_worker.py)."""
    from inference.bench.attribution_worker import AttributionHandOff

    attribution = AttributionHandOff(workload)  # its set-up overlaps the engine's, before the measured run
    try:
        result = run_engine(workload, options, attribution=attribution)
        result.update(attribution.finish())
        # answers the engine finished per second x one worker's seconds per answer
        per_worker = result["attribution_per_worker_s"]
        answers_per_s = result["attribution_handed"] / result["wall_s"]
        result["attribution_workers_needed"] = answers_per_s / per_worker if per_worker else None
    finally:
        attribution.close()
    return result


# --- PEFT, one adapter at a time ----------------------------------------------------------------------
def run_peft_swap(workload: Workload, options: dict) -> dict:
    """What most users do: load the request's adapter, generate, unload; one request at a time."""
    from peft import PeftModel

    model = build_base_model(workload)
    requests = workload.requests[: options["peft_swap_requests"]]
    _generate(model, [requests[0]])  # warm-up
    loads, ttfts, itls, tokens = [], [], [], 0
    started = time.perf_counter()
    for request in requests:
        began = time.perf_counter()
        served, load = model, 0.0
        if request.adapter is not None:
            served = PeftModel.from_pretrained(model, workload.adapters[request.adapter])
            load = time.perf_counter() - began
            loads.append(load)
        first, total = _generate(served, [request])
        ttfts.append(load + first)
        itls.append((total - first) / max(1, request.max_tokens - 1))
        tokens += request.max_tokens
        if request.adapter is not None:
            model = served.unload()
    result = summary(tokens=tokens, wall=time.perf_counter() - started, ttfts=ttfts, itls=itls)
    result.update(_load_summary(loads), requests_measured=len(requests))
    return result


# --- PEFT mixed batches and plain transformers: static batches -------------------------------------------
def run_peft_mixed(workload: Workload, options: dict) -> dict:
    """All adapters of the measured requests loaded in one PeftModel; static batches with adapter_names."""
    from peft import PeftModel

    requests, distinct = [], []
    for request in workload.requests:
        if request.adapter is not None and request.adapter not in distinct:
            if len(distinct) >= options["peft_mixed_max_adapters"]:
                break
            distinct.append(request.adapter)
        requests.append(request)
    model = build_base_model(workload)
    loads = []
    peft_model = None
    for adapter in distinct:
        began = time.perf_counter()
        if peft_model is None:
            peft_model = PeftModel.from_pretrained(model, workload.adapters[adapter], adapter_name=adapter)
        else:
            peft_model.load_adapter(workload.adapters[adapter], adapter_name=adapter)
        loads.append(time.perf_counter() - began)
    served = peft_model or model
    result = _static_batches(served, requests, workload.concurrency, with_adapters=peft_model is not None)
    result.update(_load_summary(loads), requests_measured=len(requests), adapters_loaded=len(distinct))
    result["setup_s"] = sum(loads)
    return result


def run_hf_generate(workload: Workload, options: dict) -> dict:
    """Plain `generate` on the base model alone, static batches of the same size (an outside baseline)."""
    model = build_base_model(workload)
    return _static_batches(model, workload.requests, workload.concurrency, with_adapters=False)


def _static_batches(model, requests: list[BenchRequest], size: int, *, with_adapters: bool) -> dict:
    _generate(model, requests[:2], with_adapters=with_adapters)  # warm-up
    ttfts, itls, tokens = [], [], 0
    started = time.perf_counter()
    for start in range(0, len(requests), size):
        batch = requests[start : start + size]
        first, total = _generate(model, batch, with_adapters=with_adapters)
        steps = max(r.max_tokens for r in batch)
        ttfts += [first] * len(batch)
        itls += [(total - first) / max(1, steps - 1)] * len(batch)
        tokens += sum(r.max_tokens for r in batch)  # only the tokens each request asked for count
    result = summary(tokens=tokens, wall=time.perf_counter() - started, ttfts=ttfts, itls=itls)
    result["requests_measured"] = len(requests)
    return result


@torch.inference_mode()
def _generate(model, batch: list[BenchRequest], *, with_adapters: bool = False) -> tuple[float, float]:
    """Greedy-generate a left-padded batch to its longest max_tokens; (time to first token, total)."""
    from transformers import LogitsProcessor, LogitsProcessorList

    class FirstCall(LogitsProcessor):
        def __init__(self) -> None:
            self.at: float | None = None

        def __call__(self, input_ids, scores):
            if self.at is None:
                self.at = time.perf_counter()
            return scores

    width = max(len(r.prompt) for r in batch)
    ids = torch.zeros(len(batch), width, dtype=torch.long)
    mask = torch.zeros(len(batch), width, dtype=torch.long)
    for row, request in enumerate(batch):
        ids[row, width - len(request.prompt) :] = torch.tensor(request.prompt)
        mask[row, width - len(request.prompt) :] = 1
    steps = max(r.max_tokens for r in batch)
    kwargs = {}
    if with_adapters:
        kwargs["adapter_names"] = [r.adapter or "__base__" for r in batch]
    recorder = FirstCall()
    began = time.perf_counter()
    model.generate(
        input_ids=ids,
        attention_mask=mask,
        max_new_tokens=steps,
        min_new_tokens=steps,
        do_sample=False,
        pad_token_id=0,
        logits_processor=LogitsProcessorList([recorder]),
        **kwargs,
    )
    total = time.perf_counter() - began
    return (recorder.at or began) - began, total


def _load_summary(loads: list[float]) -> dict:
    return {"cold_load_p50_s": percentile(loads, 50), "cold_load_p95_s": percentile(loads, 95)}


SYSTEMS: dict[str, Callable[[Workload, dict], dict]] = {
    "engine": run_engine,
    "engine_attributed": run_engine_attributed,
    "engine_no_prefix_cache": run_engine_no_prefix_cache,
    "engine_unchunked": run_engine_unchunked,
    "base_only": run_base_only,
    "peft_swap": run_peft_swap,
    "peft_mixed": run_peft_mixed,
    "hf_generate": run_hf_generate,
}
