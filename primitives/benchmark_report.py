"""Every benchmark's JSON report, written one way.

Benchmarks here run on shared, noisy machines, so a figure alone says little: a report says what was run
(the command line), where (the machine), when, and the figures with the ratios against the baseline that
the same run measured. Reports are replaced atomically, so a benchmark killed while writing never leaves
half a file for a later comparison to read.

The convention every benchmark follows: a module named ``bench_<what>.py`` (or the engine's ``bench/``
package), run with ``python -m``, printing its table and ratios, and writing this report with ``--json``.
"""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from primitives.atomic_files import write_json_atomically


def machine() -> dict[str, Any]:
    """Where the figures were measured; torch's threads and GPU only when the benchmark loaded torch."""
    described: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        described["torch"] = torch.__version__
        described["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            described["gpu"] = torch.cuda.get_device_name(0)
    return described


def ratio(measured: float | None, baseline: float | None) -> float | None:
    """``measured / baseline``, or None when either is missing or the baseline is zero."""
    if measured is None or not baseline:
        return None
    return measured / baseline


def bench_report(benchmark: str, figures: dict[str, Any], *, ratios: dict[str, Any] | None = None) -> dict:
    """The record of one run: its name, command, machine and time, then its own figures and ratios."""
    record: dict[str, Any] = {
        "benchmark": benchmark,
        "command": " ".join(getattr(sys, "orig_argv", sys.argv)),
        "machine": machine(),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if ratios is not None:
        record["ratios"] = ratios
    record.update(figures)
    return record


def write_bench_report(path: Path | str | None, record: dict) -> None:
    """Write ``record`` to ``path`` (its folder created), if a path was asked for, and say where."""
    if not path:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomically(path, record)
    print(f"wrote {path}")
