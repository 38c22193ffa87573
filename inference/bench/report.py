"""The benchmark's table and the issue's targets, computed from the systems' results."""

from __future__ import annotations

from primitives.percentiles import percentile

COLUMNS = [
    ("system", "{}", 22),
    ("tok/s", "{:.0f}", 8),
    ("TTFT p50", "{:.3f}", 9),
    ("TTFT p95", "{:.3f}", 9),
    ("ITL p50", "{:.4f}", 8),
    ("ITL p95", "{:.4f}", 8),
    ("load p50", "{:.4f}", 9),
    ("load p95", "{:.4f}", 9),
    ("peak MB", "{:.0f}", 8),
    ("reqs", "{}", 5),
]
KEYS = [
    "system",
    "tokens_per_s",
    "ttft_p50_s",
    "ttft_p95_s",
    "itl_p50_s",
    "itl_p95_s",
    "cold_load_p50_s",
    "cold_load_p95_s",
    "peak_rss_mb",
    "requests_measured",
]
# shown only when some system attributes its answers (engine_attributed)
ATTRIBUTION_COLUMNS = [
    ("attr'd", "{}", 6),
    ("backlog", "{}", 7),
    ("lag p50", "{:.2f}", 8),
    ("lag p95", "{:.2f}", 8),
]
ATTRIBUTION_KEYS = ["attributed", "attribution_backlog", "attribution_lag_p50_s", "attribution_lag_p95_s"]
# shown for the chat workload: TTFT of first turns and of later ones, prefix-cache hits (tokens), and the
# prompt tokens each system computed
CHAT_COLUMNS = [("TTFT 1st", "{:.3f}", 9), ("TTFT later", "{:.3f}", 10), ("hit rate", "{:.2f}", 8),
                ("prompt tok", "{}", 10)]  # fmt: skip
CHAT_KEYS = ["ttft_p50_first_turn_s", "ttft_p50_later_turns_s", "prefix_hit_rate", "prompt_tokens_computed"]
# shown for the long-prompt workload: the longest gap of the streams, the long prompts' TTFT
LONG_COLUMNS = [("ITL max", "{:.3f}", 8), ("long TTFT p50", "{:.3f}", 13), ("long TTFT p95", "{:.3f}", 13)]
LONG_KEYS = ["itl_max_s", "long_ttft_p50_s", "long_ttft_p95_s"]
# latencies kept round by round, for the latency targets' per-round ratios
ROUND_LATENCIES = ["ttft_p50_s", "itl_p95_s"]


def table(results: dict[str, dict]) -> str:
    columns, keys = COLUMNS, KEYS
    if any("attributed" in result for result in results.values()):
        columns, keys = COLUMNS + ATTRIBUTION_COLUMNS, KEYS + ATTRIBUTION_KEYS
    if any("turns" in result for result in results.values()):
        columns, keys = columns + CHAT_COLUMNS, keys + CHAT_KEYS
    if any("long_prompts" in result for result in results.values()):
        columns, keys = columns + LONG_COLUMNS, keys + LONG_KEYS
    header = " ".join(f"{name:>{width}}" for name, _, width in columns)
    lines = [header, "-" * len(header)]
    for result in results.values():
        cells = []
        for (_, fmt, width), key in zip(columns, keys, strict=True):
            value = result.get(key)
            cells.append(f"{'-' if value is None else fmt.format(value):>{width}}")
        lines.append(" ".join(cells))
    return "\n".join(lines)


def targets(results: dict[str, dict], rank16_load_p50: float | None = None) -> list[dict]:
    """The issue's throughput and load targets that one run can check (sweeps check the others)."""
    checks = []

    def ratio(name: str, a: str, b: str, goal: float) -> None:
        if a in results and b in results:
            value = results[a]["tokens_per_s"] / results[b]["tokens_per_s"]
            check = {"target": name, "value": value, "goal": goal, "met": value >= goal}
            rounds_a, rounds_b = results[a].get("rounds", []), results[b].get("rounds", [])
            if len(rounds_a) > 1 and len(rounds_a) == len(rounds_b):
                # round i of every system ran back to back: its ratio sees the same machine load
                check["per_round"] = [x / y for x, y in zip(rounds_a, rounds_b, strict=True)]
            checks.append(check)

    ratio("engine >= 0.85 x base_only", "engine", "base_only", 0.85)
    ratio("engine >= 30 x peft_swap", "engine", "peft_swap", 30)
    ratio("engine >= 3 x peft_mixed", "engine", "peft_mixed", 3)
    ratio("engine >= 0.8 x hf_generate", "engine", "hf_generate", 0.8)
    ratio("engine_attributed >= 0.9 x engine (attribution on)", "engine_attributed", "engine", 0.9)
    ratio("engine >= 1.0 x engine_no_prefix_cache (throughput)", "engine", "engine_no_prefix_cache", 1.0)

    def lowered(name: str, key: str, a: str, b: str, goal: float) -> None:
        """How many times lower `key` (a latency) of system a is than b's."""
        if a in results and b in results and results[a].get(key) and results[b].get(key):
            value = results[b][key] / results[a][key]
            check = {"target": name, "value": value, "goal": goal, "met": value >= goal}
            rounds_a, rounds_b = results[a].get("round_latencies", []), results[b].get("round_latencies", [])
            if len(rounds_a) > 1 and len(rounds_a) == len(rounds_b):
                check["per_round"] = [
                    y[key] / x[key] if x.get(key) and y.get(key) else float("nan")
                    for x, y in zip(rounds_a, rounds_b, strict=True)
                ]
            checks.append(check)

    lowered("TTFT p50 >= 3x lower with the prefix cache", "ttft_p50_s", "engine", "engine_no_prefix_cache", 3)
    lowered("ITL p95 >= 2x lower with chunked prefill", "itl_p95_s", "engine", "engine_unchunked", 2)
    if "engine" in results and results["engine"].get("cold_load_p50_s") is not None:
        value = results["engine"]["cold_load_p50_s"]
        checks.append(
            {
                "target": "cold load p50 <= 10 ms (all ranks of the run)",
                "value": value,
                "goal": 0.010,
                "met": value <= 0.010,
            }
        )
    return checks


SWEEP_RATIOS = [
    ("engine/base_only", "engine", "base_only"),
    ("engine/peft_swap", "engine", "peft_swap"),
    ("engine/peft_mixed", "engine", "peft_mixed"),
    ("engine/hf_generate", "engine", "hf_generate"),
    ("base_only/peft_swap", "base_only", "peft_swap"),
    ("base_only/peft_mixed", "base_only", "peft_mixed"),
]


def sweep_text(by_concurrency: dict[int, dict[str, dict]]) -> str:
    """tok/s of every system and the targets' ratios, one row per concurrency (all measured, none hidden)."""
    systems = list(dict.fromkeys(name for results in by_concurrency.values() for name in results))
    ratios = [(label, a, b) for label, a, b in SWEEP_RATIOS if a in systems and b in systems]
    header = f"{'conc':>5} " + " ".join(f"{name:>11}" for name in systems)
    header += " " + " ".join(f"{label:>20}" for label, _, _ in ratios)
    lines = [header, "-" * len(header)]
    for concurrency, results in by_concurrency.items():
        cells = [f"{concurrency:>5}"]
        for name in systems:
            rate = results.get(name, {}).get("tokens_per_s")
            cells.append(f"{'-' if rate is None else f'{rate:.0f}':>11}")
        for _, a, b in ratios:
            value = (
                results[a]["tokens_per_s"] / results[b]["tokens_per_s"]
                if a in results and b in results
                else None
            )
            cells.append(f"{'-' if value is None else f'{value:.2f}':>20}")
        lines.append(" ".join(cells))
    return "\n".join(lines)


def targets_text(checks: list[dict]) -> str:
    """One line a target: best round against best round, then each round's own ratio where measured."""
    lines = []
    for c in checks:
        line = f"  [{'x' if c['met'] else ' '}] {c['target']}: {c['value']:.3g} (goal {c['goal']:g})"
        if c.get("per_round"):
            line += "; round by round " + ", ".join(f"{value:.3g}" for value in c["per_round"])
        lines.append(line)
    return "\n".join(lines)


def summary(*, tokens: int, wall: float, ttfts: list[float], itls: list[float]) -> dict:
    """A system's headline figures from what it measured."""
    return {
        "tokens": tokens,
        "wall_s": wall,
        "tokens_per_s": tokens / wall,
        "ttft_p50_s": percentile(ttfts, 50),
        "ttft_p95_s": percentile(ttfts, 95),
        "itl_p50_s": percentile(itls, 50),
        "itl_p95_s": percentile(itls, 95),
    }
