"""Views translate HTTP; what a person may see is decided in selectors, and errors become HTTP in one place.

A view that queries models itself is where a visibility rule gets forgotten (the IDOR of tomorrow), and a
view that catches a domain error to pick a status is where two pages start disagreeing about the same
error. These tests read the views' source, so they fail the day someone writes either.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VIEW_MODULES = sorted(
    [
        ROOT / "datanets" / "views.py",
        *(ROOT / "modelfactory").glob("*/views.py"),
        *(ROOT / "modelfactory").glob("*/pages.py"),
        ROOT / "modelfactory" / "api" / "files.py",
        ROOT / "modelfactory" / "api" / "fine_tuning.py",
    ]
)
QUERY_METHODS = {
    "filter",
    "exclude",
    "annotate",
    "aggregate",
    "select_related",
    "prefetch_related",
    "values_list",
    "order_by",
    "get_or_create",
    "update_or_create",
}
SHORTCUTS = {"get_object_or_404", "get_list_or_404"}


def _queries_in(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and node.attr == "objects":
            found.append(f"line {node.lineno}: .objects")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in QUERY_METHODS:
                found.append(f"line {node.lineno}: .{func.attr}()")
            elif isinstance(func, ast.Name) and func.id in SHORTCUTS:
                found.append(f"line {node.lineno}: {func.id}()")
    return found


def _status_choices_in(path: Path) -> list[str]:
    """Http404 raised by hand, or a hand-written Retry-After: the selectors' errors and the table's job."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and node.value == "Retry-After":
            found.append(f"line {node.lineno}: sets Retry-After")
        if isinstance(node, ast.Name) and node.id == "Http404":
            found.append(f"line {node.lineno}: uses Http404")
    return found


def test_there_are_views_to_check() -> None:
    assert len(VIEW_MODULES) >= 10


@pytest.mark.parametrize("path", VIEW_MODULES, ids=lambda path: str(path.relative_to(ROOT)))
def test_views_never_query_models_themselves(path: Path) -> None:
    assert _queries_in(path) == [], "move these reads into the app's selectors.py"


@pytest.mark.parametrize("path", VIEW_MODULES, ids=lambda path: str(path.relative_to(ROOT)))
def test_views_leave_error_statuses_to_the_one_table(path: Path) -> None:
    assert _status_choices_in(path) == [], "raise the domain error; modelfactory/domain_errors.py maps it"
