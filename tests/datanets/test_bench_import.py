"""The import benchmark runs end to end (at a small size; the real run is 100,000 rows, see README)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.processes import REPO


def test_import_benchmark_imports_every_row_and_writes_its_json(tmp_path, tiny_base_model):
    out = tmp_path / "bench.json"
    env = {"PATH": "/usr/bin:/bin", "MODELFACTORY_BASE_MODEL": str(tiny_base_model)}

    result = subprocess.run(
        [sys.executable, "-m", "datanets.bench_import", "--rows", "300", "--json", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(out.read_text())
    assert (report["imported"], report["rejected"], report["status"]) == (300, 0, "imported")
    assert report["exact_token_counts"] is True
