"""The seed's hand-written prose, read from the JSON files in `content/` beside this module.

Recipes, FAQ answers, support replies and field notes are text that gets edited as text, so
they live as data, and the modules that compose rows from them hold only the composing code.
The files are read through `importlib.resources`, so they are found wherever the package is
installed; pyproject.toml declares them as package data for that reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from importlib.resources import files
from typing import Any


def read_content(name: str) -> dict[str, Any]:
    """Parse `content/<name>.json`, every array as a tuple.

    Tuples because the composers keep these tables as shared module constants, which must not
    be editable by whoever draws from them, and because python-help prints some of them into
    its snippets, where a list's repr would change the rows.
    """
    text = (files(__package__) / "content" / f"{name}.json").read_text(encoding="utf-8")
    return _frozen(json.loads(text))


def as_tuples(entries: Iterable[Mapping[str, Any]], *fields: str) -> tuple[tuple[Any, ...], ...]:
    """The named fields of each entry, in order: the files name their fields, the composers unpack them."""
    return tuple(tuple(entry[field] for field in fields) for entry in entries)


def _frozen(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_frozen(item) for item in value)
    if isinstance(value, dict):
        return {key: _frozen(item) for key, item in value.items()}
    return value
