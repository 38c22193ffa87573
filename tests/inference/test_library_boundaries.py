"""The engine is a plain library: importing it must not pull in Django (web processes import it lazily)."""

from __future__ import annotations

import subprocess
import sys


def _imports_no_django(modules: str) -> None:
    code = (
        f"import sys, {modules}; "
        "assert not [m for m in sys.modules if m == 'django' or m.startswith('django.')], 'django imported'"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]


def test_the_engine_core_imports_no_django():
    _imports_no_django("inference.engine, inference.adapter_cache, inference.bench.systems")


def test_the_attribution_modules_import_no_django():
    _imports_no_django("inference.attribution.gradient_sketch, inference.attribution.influence")
