"""The engine is a plain library: importing it must not pull in Django (web processes import it lazily)."""

from __future__ import annotations

import subprocess
import sys


def test_the_engine_core_imports_no_django():
    code = (
        "import sys, inference.engine, inference.adapter_cache, inference.bench.systems; "
        "assert not [m for m in sys.modules if m == 'django' or m.startswith('django.')], 'django imported'"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]
