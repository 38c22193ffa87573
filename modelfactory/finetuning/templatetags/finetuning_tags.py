"""Template filters of the fine-tuning pages."""

from __future__ import annotations

import json
from typing import Any

from django import template

register = template.Library()

_INDENT = "  "


@register.filter
def pretty_json(value: Any) -> str:
    """JSON indented for people: objects one key a line, lists of plain values on one line.

    A manifest holds thousands of row ids and the reference logits; one number a line (plain
    ``json.dumps(indent=2)``) would make it pages long, and Python's repr (``pprint``) is not JSON,
    so what the page shows could not be pasted into a JSON tool.
    """
    return _dump(value, 0)


def _dump(value: Any, depth: int) -> str:
    inner, outer = _INDENT * (depth + 1), _INDENT * depth
    if isinstance(value, dict):
        if not value:
            return "{}"
        body = ",\n".join(
            f"{inner}{json.dumps(str(key))}: {_dump(item, depth + 1)}" for key, item in value.items()
        )
        return f"{{\n{body}\n{outer}}}"
    if isinstance(value, list | tuple):
        if all(not isinstance(item, dict | list | tuple) for item in value):
            return json.dumps(list(value))
        body = ",\n".join(inner + _dump(item, depth + 1) for item in value)
        return f"[\n{body}\n{outer}]"
    return json.dumps(value)
