"""The ledger owns a receipt and its split; attribution reads and rewrites them. The attribution app may
import the ledger, never the other way round: no ledger module imports `modelfactory.attribution`, at
load time or inside a function, directly or through the modules it imports."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import modelfactory.ledger

LEDGER = Path(modelfactory.ledger.__file__).parent
FORBIDDEN = "modelfactory.attribution"

# Django loads every installed app's models; admin's autodiscovery would load every app's admin module
# too (and through them the attribution services), so it is left out to see what the ledger pulls in.
IMPORT_EVERY_LEDGER_MODULE = f"""
import importlib, pkgutil, sys
from django.conf import settings
settings.INSTALLED_APPS = [
    "django.contrib.admin.apps.SimpleAdminConfig" if app == "django.contrib.admin" else app
    for app in settings.INSTALLED_APPS
]
import django
django.setup()
loaded = {{name for name in sys.modules if name.startswith("{FORBIDDEN}")}}
import modelfactory.ledger
for module in pkgutil.walk_packages(modelfactory.ledger.__path__, "modelfactory.ledger."):
    importlib.import_module(module.name)
pulled_in = sorted(name for name in sys.modules if name.startswith("{FORBIDDEN}") and name not in loaded)
assert not pulled_in, f"importing the ledger imported {{pulled_in}}"
"""


def test_importing_every_ledger_module_imports_no_attribution_module():
    completed = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERY_LEDGER_MODULE], capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr[-2000:]


def _imported_modules(path: Path) -> set[str]:
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            imported.add(node.module)
    return imported


def test_no_ledger_module_imports_attribution_even_inside_a_function():
    imports = {str(path.relative_to(LEDGER)): _imported_modules(path) for path in LEDGER.rglob("*.py")}
    offenders = {
        module: sorted(name for name in names if name.startswith(FORBIDDEN))
        for module, names in imports.items()
        if any(name.startswith(FORBIDDEN) for name in names)
    }
    assert offenders == {}
