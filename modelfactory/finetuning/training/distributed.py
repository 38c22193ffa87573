"""Multi-GPU jobs: the command a worker runs to train one job on N GPUs with DDP through accelerate.

LoRA on a model that fits one GPU scales out best as plain data parallelism: every GPU holds the
(frozen) base and the adapter, trains on its share of each batch, and gradients of the few adapter
weights are all-reduced. ``accelerate launch --multi_gpu`` starts one process per GPU running
`command_line`; the Trainer inside notices the distributed environment by itself. Rank 0 alone
writes the journal, the adapter and the manifest; every rank polls the same cancel file so that
they all stop at the same step.

Note the effective batch size becomes ``batch_size × grad_accumulation × N``; the wizard's estimate
should say so. This cannot run on the development machines (no GPU): only the command is tested.
"""

from __future__ import annotations

import hashlib
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ENTRY_MODULE = "modelfactory.finetuning.training.command_line"
_PORT_RANGE = (29500, 30499)


@dataclass(frozen=True)
class LaunchCommand:
    argv: list[str]

    def shell(self) -> str:
        """The command as one line to show in the job log (quoted for a POSIX shell)."""
        return shlex.join(self.argv)


def rendezvous_port(output_dir: Path) -> int:
    """A port derived from the job directory: two DDP jobs on one host must not share a rendezvous."""
    digest = int(hashlib.sha256(str(output_dir).encode()).hexdigest(), 16)
    low, high = _PORT_RANGE
    return low + digest % (high - low + 1)


def training_command(
    *,
    num_gpus: int,
    spec_path: Path,
    rows_path: Path,
    output_dir: Path,
    datanets_path: Path | None = None,
    cancel_file: Path | None = None,
    gpu_ids: Sequence[int] | None = None,
    mixed_precision: str = "bf16",
    main_process_port: int | None = None,
    python: str = sys.executable,
    accelerate: str | None = None,
) -> LaunchCommand:
    """The argv that trains one job: plain ``python -m`` for one GPU, ``accelerate launch`` DDP for N > 1.

    ``gpu_ids`` pins the job to specific devices (the worker's allocation); ``mixed_precision`` is
    ``bf16`` on Ampere and newer, ``fp16`` before, ``no`` for fp32. ``accelerate`` is the launcher
    executable (default: the one installed next to ``python``).
    """
    if isinstance(num_gpus, bool) or not isinstance(num_gpus, int) or num_gpus < 1:
        raise ValueError(f"num_gpus must be a positive whole number, got {num_gpus!r}")
    if gpu_ids is not None and len(gpu_ids) != num_gpus:
        raise ValueError(f"{num_gpus} GPUs requested but {len(gpu_ids)} gpu_ids given")
    if mixed_precision not in ("no", "fp16", "bf16"):
        raise ValueError(f"mixed_precision must be no, fp16 or bf16, got {mixed_precision!r}")

    job_args = ["--spec", str(spec_path), "--rows", str(rows_path), "--output-dir", str(output_dir)]
    if datanets_path is not None:
        job_args += ["--datanets", str(datanets_path)]
    if cancel_file is not None:
        job_args += ["--cancel-file", str(cancel_file)]
    if num_gpus == 1:
        return LaunchCommand([python, "-m", ENTRY_MODULE, *job_args])

    launcher = [
        accelerate or str(Path(python).with_name("accelerate")), "launch",
        "--multi_gpu",
        "--num_machines", "1",
        "--num_processes", str(num_gpus),
        "--mixed_precision", mixed_precision,
        "--main_process_port", str(main_process_port or rendezvous_port(output_dir)),
    ]  # fmt: skip
    if gpu_ids is not None:
        launcher += ["--gpu_ids", ",".join(str(i) for i in gpu_ids)]
    return LaunchCommand([*launcher, "--module", ENTRY_MODULE, *job_args])
