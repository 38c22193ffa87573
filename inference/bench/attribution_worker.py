"""The attribution worker of the `engine_attributed` system: one process beside the engine, fed by a queue.

In production the web process hands every finished answer to a Celery worker on the `attribution`
queue, which holds its own PEFT model of the base (the engine has no autograd graph), loads the
answer's adapter into a small LRU (`inference/attribution/adapter_models.py`, used here too),
projects the gradient of the answer's loss onto the adapter's LoRA parameters
(`LoraGradientProjector`), scores it against the adapter's training-row sketches
(`GradientSketches.top_rows`) and matches the answer's text verbatim against the dataset's span index
(`SpanIndex.longest_spans`). This module does the same per answer, in a `multiprocessing` process with
its own copy of the base model and one torch thread.

What is synthetic: the benchmark's adapters are random and have no training rows, so every adapter is
scored against ONE `GradientSketches` of `SKETCH_ROWS` random-normal rows of the real dimension (built
once; a real sketch per adapter file would need `SKETCH_ROWS` backward passes each), and the span index
holds `SPAN_ROWS` random rows over a word per token id (the bench has no tokenizer, so an answer's
text is its token ids spelled as those words). The cost of scoring and matching is the real one for
those sizes; the rows they find mean nothing.
"""

from __future__ import annotations

import queue
import random
import resource
import threading
import time

import torch

from inference.attribution.adapter_models import AdapterModels
from inference.bench.workload import Workload, build_base_model

SKETCH_ROWS = 10_000
SPAN_ROWS = 10_000
SPAN_ROW_WORDS = (20, 100)  # uniform words per synthetic row (about 60: the size span_index.py assumes)
GRADIENT_CANDIDATES = 32  # as modelfactory/attribution/services.py
MIN_SPAN_WORDS = 6  # MODELFACTORY_ATTRIBUTION_MIN_SPAN_WORDS's default
MIN_RARE_SPAN_WORDS = 3  # MODELFACTORY_ATTRIBUTION_MIN_RARE_SPAN_WORDS's default


def answer_text(token_ids: list[int]) -> str:
    """The bench's stand-in for decoding: one word per token id."""
    return " ".join(f"w{token}" for token in token_ids)


class Attributor:
    """Everything the worker keeps between answers, and the per-answer work."""

    def __init__(self, workload: Workload) -> None:
        from inference.attribution.gradient_sketch import SketchConfig
        from inference.attribution.influence import GradientSketches
        from inference.attribution.span_index import SpanIndex

        self.workload = workload
        base = build_base_model(workload)
        vocab = base.config.vocab_size
        self.models = AdapterModels(base)
        self.config = SketchConfig()
        generator = torch.Generator().manual_seed(workload.seed + 1)
        self.sketches = GradientSketches.from_vectors(
            list(range(SKETCH_ROWS)),
            torch.randn(SKETCH_ROWS, self.config.sketch_dim, generator=generator),
            config=self.config,
            adapter_fingerprint="synthetic",
        )
        rng = random.Random(workload.seed + 2)
        self.span_index = SpanIndex.build(
            (row, answer_text([rng.randrange(vocab) for _ in range(rng.randint(*SPAN_ROW_WORDS))]))
            for row in range(SPAN_ROWS)
        )

    def attribute(self, adapter: str, prompt: list[int], answer: list[int]) -> dict:
        """One answer: its adapter loaded, gradient projected and scored, text span-matched; seconds each."""
        from inference.attribution.gradient_sketch import LoraGradientProjector
        from inference.attribution.span_index import DEFAULT_MAX_ROW_SHARE  # the setting's default, as prod

        began = time.perf_counter()
        model = self.models.get(adapter, self.workload.adapters[adapter])
        loaded = time.perf_counter()
        # Production uses `sketches.projector(model)`, which also checks that the adapter's fingerprint is
        # the sketches'; the synthetic sketches match no adapter, so the projector is built directly
        # (it still fingerprints the adapter, as the check would).
        with LoraGradientProjector(model, self.config) as projector:
            built = time.perf_counter()  # fingerprint + the seeded projection matrices, as per query in prod
            vector = projector.project([prompt + answer], [[-100] * len(prompt) + answer])[0]
        projected = time.perf_counter()
        rows = self.sketches.top_rows(vector, k=GRADIENT_CANDIDATES)
        scored = time.perf_counter()
        spans = self.span_index.longest_spans(
            answer_text(answer),
            min_words=MIN_SPAN_WORDS,
            max_row_share=DEFAULT_MAX_ROW_SHARE,
            min_rare_words=MIN_RARE_SPAN_WORDS,
        )
        matched = time.perf_counter()
        return {
            "load_s": loaded - began,
            "projector_s": built - loaded,
            "project_s": projected - built,
            "score_s": scored - projected,
            "spans_s": matched - scored,
            "total_s": matched - began,
            "rows": len(rows),
            "spans": len(spans),
        }


def worker_main(workload_json: str, jobs, results) -> None:
    """Process entry: build, warm up, say "ready", then attribute every job until the None sentinel.

    jobs: (index, adapter, prompt ids, answer ids, handed_at) with handed_at on `time.monotonic()` (one
    clock for every process of the machine). results: ("ready", info), ("done", index, handed_at,
    done_at, timings) per answer, then ("exit", info)."""
    workload = Workload.from_json(workload_json)
    torch.set_num_threads(workload.threads)
    began = time.perf_counter()
    attributor = Attributor(workload)
    warm = next(r for r in workload.requests if r.adapter is not None)
    attributor.attribute(warm.adapter, warm.prompt, warm.prompt[: warm.max_tokens])  # imports, lazy norms
    attributor.models.loads = 0
    # An intake thread empties the jobs pipe as soon as anything arrives (Celery's prefetch does the same),
    # so the engine's synchronous `put` never waits for a full pipe however long the backlog grows.
    backlog: queue.SimpleQueue = queue.SimpleQueue()

    def intake() -> None:
        while True:
            job = jobs.get()
            backlog.put(job)
            if job is None:
                return

    threading.Thread(target=intake, name="attribution-intake", daemon=True).start()
    results.put(("ready", {"setup_s": time.perf_counter() - began, "threads": torch.get_num_threads()}))
    while (job := backlog.get()) is not None:
        index, adapter, prompt, answer, handed_at = job
        timings = attributor.attribute(adapter, prompt, answer)
        results.put(("done", index, handed_at, time.monotonic(), timings))
    results.put(
        (
            "exit",
            {
                "adapter_loads": attributor.models.loads,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "sketch_rows": len(attributor.sketches),
                "span_rows": attributor.span_index.row_count,
                "span_tokens": attributor.span_index.token_count,
            },
        )
    )


class AttributionHandOff:
    """The engine process's side: starts the worker, hands it finished answers, and sums up afterwards.

    `hand_off` is all the engine's loop pays per answer: one pickled write to a pipe, synchronous like
    enqueueing a Celery task. A `SimpleQueue`, not a `Queue`: a `Queue`'s feeder thread in the engine
    process took ten times as long per put on this 2-core machine (it holds the queue's lock and then
    the GIL whenever the scheduler lets it run: 2-3% of the engine's wall time on the demo run)."""

    def __init__(self, workload: Workload) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")  # a clean interpreter, as a separate worker is
        self.jobs = context.SimpleQueue()
        self.results = context.Queue()  # the worker's feeder thread buffers results until `finish` reads
        self.process = context.Process(
            target=worker_main, args=(workload.to_json(), self.jobs, self.results), daemon=True
        )
        self.process.start()
        self.handed = 0
        self.hand_off_s = 0.0  # the engine loop's own time in `hand_off`
        self.ready: dict = {}
        self.engine_ended: float | None = None

    def _get(self, timeout: float):
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.results.get(timeout=1.0)
            except queue.Empty:
                if not self.process.is_alive():
                    code = self.process.exitcode
                    raise RuntimeError(f"attribution worker died (exit code {code})") from None
                if time.monotonic() > deadline:
                    raise TimeoutError("attribution worker did not answer") from None

    def wait_ready(self, timeout: float = 900.0) -> None:
        kind, self.ready = self._get(timeout)
        assert kind == "ready", kind

    def hand_off(self, adapter: str | None, prompt: list[int], answer: list[int]) -> None:
        if adapter is None or not answer:
            return  # nothing to attribute: no adapter (base model answer) or an empty answer
        handed_at = time.monotonic()
        self.jobs.put((self.handed, adapter, prompt, answer, handed_at))
        self.handed += 1
        self.hand_off_s += time.monotonic() - handed_at

    def engine_finished(self) -> None:
        self.engine_ended = time.monotonic()

    def finish(self, timeout: float = 1800.0) -> dict:
        """Let the worker drain what is queued, then sum up (the drain is not timed against the engine)."""
        from primitives.percentiles import percentile as _percentile

        self.jobs.put(None)
        done, info = [], {}
        while True:
            message = self._get(timeout)
            if message[0] == "exit":
                info = message[1]
                break
            done.append(message[1:])
        self.process.join(timeout=60)
        ended = self.engine_ended if self.engine_ended is not None else time.monotonic()
        attributed = sum(1 for _, _, done_at, _ in done if done_at <= ended)
        timings = [t for *_, t in done]
        steps = ("load_s", "projector_s", "project_s", "score_s", "spans_s")
        mean_total = sum(t["total_s"] for t in timings) / len(timings) if timings else None
        return {
            "attributed": attributed,
            "attribution_backlog": self.handed - attributed,
            "attribution_handed": self.handed,
            "attribution_hand_off_s": self.hand_off_s,
            "attribution_lag_p50_s": _percentile([d - h for _, h, d, _ in done], 50),
            "attribution_lag_p95_s": _percentile([d - h for _, h, d, _ in done], 95),
            "attribution_drain_s": max((d for _, _, d, _ in done), default=ended) - ended,
            "attribution_service_p50_s": _percentile([t["total_s"] for t in timings], 50),
            "attribution_service_p95_s": _percentile([t["total_s"] for t in timings], 95),
            "attribution_service_mean_s": {
                step: sum(t[step] for t in timings) / len(timings) for step in steps
            }
            if timings
            else {},
            "attribution_per_worker_s": 1.0 / mean_total if mean_total else None,
            "attribution_spans_found": sum(t["spans"] for t in timings),
            "attribution_worker": {**self.ready, **info},
        }

    def close(self) -> None:
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=10)
