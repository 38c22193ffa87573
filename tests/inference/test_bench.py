"""The benchmark's systems run on a tiny workload and report the figures the table prints."""

from __future__ import annotations

from inference.bench.report import table, targets
from inference.bench.systems import run_system
from inference.bench.workload import Workload, build_base_model, write_adapter_files, zipf_requests


def test_engine_and_baselines_report_throughput_latency_and_loads(tmp_path):
    workload = Workload(
        base_model=None,
        random_shape="tiny",
        seed=0,
        threads=1,
        concurrency=4,
        targets=["q_proj", "v_proj"],
        adapters={},
        adapter_ranks={},
    )
    files = write_adapter_files(build_base_model(workload), workload.targets, [4, 8], 3, tmp_path, seed=0)
    for index, (path, rank) in enumerate(files):
        workload.adapters[f"adapter-{index}"] = str(path)
        workload.adapter_ranks[f"adapter-{index}"] = rank
    workload.requests = zipf_requests(list(workload.adapters), 6, 1.0, (2, 6), (2, 5), 256, seed=0)
    options = {"peft_swap_requests": 2, "peft_mixed_max_adapters": 3}

    results = {name: run_system(name, workload, options) for name in ("engine", "base_only", "peft_mixed")}

    expected_tokens = sum(r.max_tokens for r in workload.requests)
    assert results["engine"]["tokens"] == expected_tokens == results["base_only"]["tokens"]
    assert results["engine"]["cold_load_p50_s"] > 0
    assert results["peft_mixed"]["adapters_loaded"] == len({r.adapter for r in workload.requests})
    assert "engine" in table(results)
    assert {check["target"] for check in targets(results)} >= {"engine >= 0.85 x base_only"}
