"""The benchmark's chat workload (prefix caching) and long-prompt workload (chunked prefill) on a tiny
model: every system serves every turn, the figures the targets compare are there."""

from __future__ import annotations

from inference.bench.report import table, targets, targets_text
from inference.bench.systems import run_system
from inference.bench.workload import (
    Workload,
    build_base_model,
    chat_conversations,
    write_adapter_files,
    zipf_requests,
)

OPTIONS = {"peft_swap_requests": 2, "peft_mixed_max_adapters": 3}


def _workload(tmp_path, kind: str) -> Workload:
    workload = Workload(
        base_model=None,
        random_shape="tiny",
        seed=0,
        threads=1,
        concurrency=3,
        targets=["q_proj", "v_proj"],
        adapters={},
        adapter_ranks={},
        kind=kind,
        max_prefill_tokens=32,
    )
    files = write_adapter_files(build_base_model(workload), workload.targets, [4, 8], 3, tmp_path, seed=0)
    for index, (path, rank) in enumerate(files):
        workload.adapters[f"adapter-{index}"] = str(path)
        workload.adapter_ranks[f"adapter-{index}"] = rank
    names = list(workload.adapters)
    if kind == "chat":
        workload.system_prompt = list(range(40, 80))
        workload.conversations = chat_conversations(names, 5, 3, 1.0, (2, 6), (2, 5), 256, seed=0)
    else:
        workload.requests = zipf_requests(names, 4, 1.0, (2, 6), (20, 30), 256, seed=0)
        workload.long_prompts = zipf_requests(names, 2, 1.0, (150, 200), (1, 1), 256, seed=1)
        workload.long_every_s = 0.01
    return workload


def test_chat_turns_build_on_their_answers_and_the_cache_finds_the_shared_prefixes(tmp_path):
    workload = _workload(tmp_path, "chat")

    results = {name: run_system(name, workload, OPTIONS) for name in ("engine", "engine_no_prefix_cache")}

    asked = sum(sum(c.max_tokens) for c in workload.conversations)
    for result in results.values():
        assert result["tokens"] == asked
        assert result["turns"] == 15
        assert result["ttft_p50_first_turn_s"] > 0
        assert result["ttft_p50_later_turns_s"] > 0
    assert results["engine"]["prefix_hit_rate"] > 0.3  # later turns: their own history, at least
    assert results["engine_no_prefix_cache"]["prefix_hit_rate"] is None
    computed = [results[name]["prompt_tokens_computed"] for name in ("engine", "engine_no_prefix_cache")]
    assert computed[0] < computed[1]
    assert "TTFT later" in table(results)
    checks = {check["target"]: check for check in targets(results)}
    assert "TTFT p50 >= 3x lower with the prefix cache" in checks
    assert "engine >= 1.0 x engine_no_prefix_cache (throughput)" in checks
    assert "prefix cache" in targets_text(list(checks.values()))


def test_long_prompts_arrive_while_streams_decode_and_every_gap_of_the_streams_is_measured(tmp_path):
    workload = _workload(tmp_path, "long-prompt")

    results = {name: run_system(name, workload, OPTIONS) for name in ("engine", "engine_unchunked")}

    for result in results.values():
        assert result["tokens"] == sum(r.max_tokens for r in workload.requests)
        assert result["gaps_measured"] == sum(r.max_tokens - 1 for r in workload.requests)
        assert result["long_prompts"] == 2
        assert result["itl_p95_s"] <= result["itl_max_s"]
        assert result["long_ttft_p50_s"] > 0
    assert "long TTFT p50" in table(results)
    assert any(check["target"].startswith("ITL p95") for check in targets(results))
