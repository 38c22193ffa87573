"""The layout rule of README's "Where code lives", held by reading the source (no imports, no Django).

- Libraries (the engine, the chain client, the trainer, ingestion, seed content, the shared primitives)
  import no Django and no Django app, so workers, benchmarks and other programs can use them bare.
- In a Django app, only services (`services.py`, `<topic>_services.py`), tasks, admin actions and
  migrations write to the database; every other module reads or computes.
- Benchmarks are `bench_<what>.py` modules (or the engine's `bench/` package) that write their JSON
  through `primitives.benchmark_report`.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Each library, and the packages it may import from the project besides itself.
LIBRARIES = {
    "primitives": set(),
    "contracts": {"primitives"},
    "inference": {"primitives"},
    "datanets/ingest": {
        "primitives",
        "datanets.row_formats",
        "datanets.row_hashing",
        "datanets.token_counting",
    },
    "datanets/seed": {"primitives"},
    "modelfactory/finetuning/training": {"primitives", "inference", "datanets.seed", "datanets.row_formats"},
    "modelfactory/default_base_model": {"primitives"},
}
# Single Django-free modules of an app that libraries use.
LIBRARY_MODULES = ["datanets/row_formats.py", "datanets/row_hashing.py", "datanets/token_counting.py"]
PROJECT_PACKAGES = ("modelfactory", "datanets", "inference", "contracts", "primitives")

WRITING_MODULES = {"services.py", "tasks.py", "admin.py", "apps.py"}
ALWAYS_WRITES = {"bulk_create", "bulk_update", "get_or_create", "update_or_create", "select_for_update"}
QUERYSET_WRITES = {"create", "update", "delete"}
QUERYSET_STEPS = {"objects", "filter", "exclude", "all", "select_related", "order_by", "using", "annotate"}


def _python_files(relative: str) -> list[Path]:
    path = ROOT / relative
    return [path] if path.is_file() else sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(path: Path) -> set[str]:
    """Every module name a file imports, relative imports resolved."""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _within(name: str, prefixes: set[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _forbidden_imports(path: Path, allowed: set[str]) -> list[str]:
    found = []
    for name in sorted(_imported(path)):
        top = name.split(".")[0]
        if top == "django" or (top in PROJECT_PACKAGES and not _within(name, allowed)):
            found.append(name)
    return found


def test_libraries_import_no_django_and_no_django_app():
    offences = {}
    for library, allowed in LIBRARIES.items():
        own = {library.replace("/", ".")}
        for path in _python_files(library):
            if bad := _forbidden_imports(path, own | allowed):
                offences[str(path.relative_to(ROOT))] = bad
    for module in LIBRARY_MODULES:
        path = ROOT / module
        if bad := _forbidden_imports(path, {"primitives", "inference", _module_name(path)}):
            offences[module] = bad
    assert not offences, f"library modules importing Django or an app: {offences}"


def _call_chain(node: ast.AST) -> list[str]:
    names = []
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            names.append(node.attr)
            node = node.value
        else:
            if isinstance(node, ast.Name):
                names.append(node.id)
            return names


def database_writes(source: str) -> list[str]:
    """ORM writes in a module's source: saves, deletes, creates and updates on managers and querysets."""
    writes = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        method, receiver = node.func.attr, _call_chain(node.func.value)
        if (
            method in ALWAYS_WRITES
            or (method in QUERYSET_WRITES and QUERYSET_STEPS & set(receiver))
            or (method in {"save", "delete"} and not node.args)
        ):
            writes.append(f"line {node.lineno}: {'.'.join(reversed(receiver))}.{method}()")
    return writes


def _django_apps() -> list[Path]:
    return [*sorted(p.parent for p in (ROOT / "modelfactory").glob("*/apps.py")), ROOT / "datanets"]


def _may_write(path: Path, app: Path) -> bool:
    inside = path.relative_to(app).parts
    return (
        path.name in WRITING_MODULES
        or path.stem.endswith("_services")
        or inside[0] in {"migrations", "management"}
        or _module_name(path).startswith(tuple(library.replace("/", ".") for library in LIBRARIES))
    )


def test_only_services_tasks_and_admin_write_to_the_database():
    offences = {}
    for app in _django_apps():
        for path in _python_files(str(app.relative_to(ROOT))):
            if not _may_write(path, app) and (writes := database_writes(path.read_text(encoding="utf-8"))):
                offences[str(path.relative_to(ROOT))] = writes
    assert not offences, f"database writes outside services: {offences}"


def test_the_write_detector_sees_orm_writes_and_not_dict_updates():
    source = (
        "Job.objects.filter(pk=1).update(state='done')\n"
        "job.save()\n"
        "Row.objects.bulk_create(rows)\n"
        "Job.objects.create(name='x')\n"
        "values.update({'a': 1})\n"
        "state.save(request.session)\n"
        "digest.update(chunk)\n"
    )
    assert [w.split(": ")[1] for w in database_writes(source)] == [
        "Job.objects.filter.update()",
        "job.save()",
        "Row.objects.bulk_create()",
        "Job.objects.create()",
    ]


def _benchmark_modules() -> list[Path]:
    found = []
    for package in PROJECT_PACKAGES:
        for path in _python_files(package):
            if path.stem.startswith("bench_") or (path.parent.name == "bench" and path.stem == "__main__"):
                found.append(path)
    return found


def test_benchmarks_are_named_bench_and_write_one_kind_of_report():
    misnamed = [
        str(p.relative_to(ROOT))
        for package in PROJECT_PACKAGES
        for p in _python_files(package)
        if p.stem == "bench" or p.stem.endswith("_bench")
    ]
    assert not misnamed, f"benchmarks are bench_<what>.py: {misnamed}"
    benchmarks = _benchmark_modules()
    assert len(benchmarks) >= 5
    not_reporting = [
        str(p.relative_to(ROOT)) for p in benchmarks if "primitives.benchmark_report" not in _imported(p)
    ]
    assert not not_reporting, f"benchmarks writing JSON their own way: {not_reporting}"
