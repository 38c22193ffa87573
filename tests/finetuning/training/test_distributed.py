"""Multi-GPU jobs: the DDP command a worker runs (constructed and checked here; it cannot run here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelfactory.finetuning.training.distributed import ENTRY_MODULE, rendezvous_port, training_command


def job_paths(tmp_path: Path) -> dict[str, Path]:
    return {
        "spec_path": tmp_path / "spec.json",
        "rows_path": tmp_path / "rows.jsonl",
        "output_dir": tmp_path / "out",
    }


def test_a_four_gpu_job_is_launched_as_ddp_through_accelerate(tmp_path):
    command = training_command(
        num_gpus=4, gpu_ids=[4, 5, 6, 7], python="/venv/bin/python", **job_paths(tmp_path)
    )
    argv = command.argv

    assert argv[:2] == ["/venv/bin/accelerate", "launch"]
    assert "--multi_gpu" in argv
    assert argv[argv.index("--num_processes") + 1] == "4"
    assert argv[argv.index("--num_machines") + 1] == "1"
    assert argv[argv.index("--gpu_ids") + 1] == "4,5,6,7"
    assert argv[argv.index("--mixed_precision") + 1] == "bf16"
    assert argv[argv.index("--module") + 1] == ENTRY_MODULE
    # Launcher options come before the module; job options after it.
    assert argv.index("--multi_gpu") < argv.index("--module") < argv.index("--spec")
    assert argv[argv.index("--output-dir") + 1] == str(tmp_path / "out")
    assert command.shell().startswith("/venv/bin/accelerate launch --multi_gpu")


def test_a_single_gpu_job_runs_the_entry_module_directly():
    command = training_command(
        num_gpus=1,
        spec_path=Path("s.json"),
        rows_path=Path("r.jsonl"),
        output_dir=Path("o"),
        python="python3",
        cancel_file=Path("o/cancel"),
    )
    assert command.argv == [
        "python3",
        "-m",
        ENTRY_MODULE,
        "--spec",
        "s.json",
        "--rows",
        "r.jsonl",
        "--output-dir",
        "o",
        "--cancel-file",
        "o/cancel",
    ]


def test_concurrent_jobs_get_different_rendezvous_ports_and_one_job_always_the_same(tmp_path):
    first = training_command(num_gpus=2, **job_paths(tmp_path / "job-1"))
    again = training_command(num_gpus=2, **job_paths(tmp_path / "job-1"))
    second = training_command(num_gpus=2, **job_paths(tmp_path / "job-2"))
    port = first.argv[first.argv.index("--main_process_port") + 1]
    assert port == again.argv[again.argv.index("--main_process_port") + 1]
    assert port != second.argv[second.argv.index("--main_process_port") + 1]
    assert 29500 <= rendezvous_port(tmp_path) <= 30499


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_gpus": 0}, "positive"),
        ({"num_gpus": 2, "gpu_ids": [0]}, "2 GPUs requested but 1 gpu_ids"),
        ({"num_gpus": 2, "mixed_precision": "fp8"}, "mixed_precision"),
    ],
)
def test_impossible_launch_requests_are_refused(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        training_command(**job_paths(tmp_path), **kwargs)
