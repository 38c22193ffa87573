"""The chat and long-prompt workloads, driven through one engine in a closed loop (see `workload.py`).

* chat: `concurrency` clients; each takes the next conversation and sends its turns one after another,
  turn t's prompt being the system prompt, every earlier turn's user tokens and answer, then turn t's user
  tokens (what a chat API receives). With prefix caching the system prompt (per model) and each
  conversation's own history are found in the cache; without it every turn prefills all of it again.
* long-prompt: `concurrency` streams over the workload's requests, while long prompts arrive one every
  `long_every_s` seconds for as long as the streams run (at most `len(long_prompts)` of them; each asks
  for one token: only its time to first token matters). What is measured is every gap between two tokens
  of the streams: a long prompt prefilled in one step stalls them all for that step; chunked, for a chunk
  at a time. p95 sees the stalls only where they are more than 5% of the gaps, i.e. where long prompts
  keep arriving (a few long prompts early in a long run leave p95 to the decode steps).
"""

from __future__ import annotations

import time

from inference.bench.report import summary
from inference.bench.workload import Workload
from primitives.percentiles import percentile


def kv_tokens(workload: Workload) -> int:
    """Tokens the KV-cache is sized for: every client's longest context at once (x 1.3 by the caller)."""
    if workload.kind == "chat":
        longest = max(
            len(workload.system_prompt) + sum(map(len, c.user_turns)) + sum(c.max_tokens)
            for c in workload.conversations
        )
        return longest * workload.concurrency
    longest = max(len(r.prompt) + r.max_tokens for r in workload.requests)
    extra = 2 * max((len(r.prompt) + 1 for r in workload.long_prompts), default=0)
    return longest * workload.concurrency + extra


def run_chat(engine, workload: Workload, lora: bool) -> dict:
    from inference.request import Request
    from inference.sampling import SamplingParams

    pending = list(reversed(workload.conversations))
    clients = []  # [conversation, turn, prompt, handle]
    first_turns, later_turns, done = [], [], []

    def send(conversation, turn: int, history: list[int]) -> list:
        prompt = history + conversation.user_turns[turn]
        sampling = SamplingParams(max_tokens=conversation.max_tokens[turn], ignore_eos=True)
        adapter = conversation.adapter if lora else None
        handle = engine.submit(Request(prompt_token_ids=prompt, adapter=adapter, sampling=sampling))
        return [conversation, turn, prompt, handle]

    started = time.perf_counter()
    while pending and len(clients) < workload.concurrency:
        clients.append(send(pending.pop(), 0, list(workload.system_prompt)))
    while clients:
        if not engine.step():
            time.sleep(0.0002)  # only waiting for an adapter read from disk
        still = []
        for conversation, turn, prompt, handle in clients:
            if not handle.done():
                still.append([conversation, turn, prompt, handle])
                continue
            completion = handle.result()
            done.append(completion)
            (first_turns if turn == 0 else later_turns).append(completion.time_to_first_token_s)
            if turn + 1 < len(conversation.user_turns):
                still.append(send(conversation, turn + 1, prompt + completion.token_ids))
            elif pending:
                still.append(send(pending.pop(), 0, list(workload.system_prompt)))
        clients = still
    wall = time.perf_counter() - started
    result = summary(
        tokens=sum(len(c.token_ids) for c in done),
        wall=wall,
        ttfts=[c.time_to_first_token_s for c in done],
        itls=[(c.latency_s - c.time_to_first_token_s) / max(1, len(c.token_ids) - 1) for c in done],
    )
    result["ttft_p50_first_turn_s"] = percentile(first_turns, 50)
    result["ttft_p50_later_turns_s"] = percentile(later_turns, 50)
    result["turns"] = len(done)
    return result


def run_long_prompts(engine, workload: Workload, lora: bool) -> dict:
    from inference.request import Request
    from inference.sampling import SamplingParams

    pending = list(reversed(workload.requests))
    arrivals = list(reversed(workload.long_prompts))
    streams, longs, done, long_done = [], [], [], []
    gaps_before = engine.inter_token.count

    def submit(request, into: list) -> None:
        sampling = SamplingParams(max_tokens=request.max_tokens, ignore_eos=True)
        adapter = request.adapter if lora else None
        request = Request(prompt_token_ids=request.prompt, adapter=adapter, sampling=sampling)
        into.append(engine.submit(request))

    started = time.perf_counter()
    while pending and len(streams) < workload.concurrency:
        submit(pending.pop(), streams)
    while streams or longs:
        due = started + (len(workload.long_prompts) - len(arrivals) + 1) * workload.long_every_s
        if arrivals and streams and time.perf_counter() >= due:
            submit(arrivals.pop(), longs)
        if not engine.step():
            time.sleep(0.0002)
        done += [h.result() for h in streams if h.done()]
        long_done += [h.result() for h in longs if h.done()]
        streams = [h for h in streams if not h.done()]
        longs = [h for h in longs if not h.done()]
        while pending and len(streams) < workload.concurrency:
            submit(pending.pop(), streams)
    wall = time.perf_counter() - started
    count = engine.inter_token.count - gaps_before  # the streams' gaps (a long prompt gives one token)
    gaps = list(engine.inter_token.recent)[-count:] if count else []
    result = summary(
        tokens=sum(len(c.token_ids) for c in done),
        wall=wall,
        ttfts=[c.time_to_first_token_s for c in done],
        itls=gaps,
    )
    result["itl_p99_s"] = percentile(gaps, 99)
    result["itl_max_s"] = max(gaps, default=None)
    result["gaps_measured"] = len(gaps)
    result["long_ttft_p50_s"] = percentile([c.time_to_first_token_s for c in long_done], 50)
    result["long_ttft_p95_s"] = percentile([c.time_to_first_token_s for c in long_done], 95)
    result["long_prompts"] = len(long_done)
    return result
