"""The shapes of seed content, shared by every seed module and by the code that loads it.

Rows carry plain dicts (not model instances) so the same content can feed the database
loader, the training-set exporter and the benchmarks without conversion.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

ROW_FORMATS: tuple[str, ...] = ("messages", "prompt_completion", "text")  # what row_format() returns


@dataclass(frozen=True)
class SeedContributor:
    """A demo community member; the wallet is where their share of a payout would go."""

    username: str
    display_name: str
    wallet_address: str


@dataclass(frozen=True)
class SeedRow:
    """One datanet row and who contributed it (by username).

    `content` is exactly one of {"messages": [...]}, {"prompt": ..., "completion": ...}
    or {"text": ...}; treat it as read-only.
    """

    contributor: str
    content: dict


@dataclass(frozen=True)
class SeedDatanet:
    """A demo datanet: its catalogue metadata plus every attributed row."""

    slug: str
    title: str
    description: str
    tags: tuple[str, ...]
    license: str
    owner: str
    rows: tuple[SeedRow, ...]


def row_format(content: dict) -> str:
    """Name the format of a row's content, so loaders and tests can check one format per datanet."""
    keys = set(content)
    if keys == {"messages"}:
        return "messages"
    if keys == {"prompt", "completion"}:
        return "prompt_completion"
    if keys == {"text"}:
        return "text"
    raise ValueError(f"unrecognised row content keys: {sorted(keys)}")


_SPACES = re.compile(r"\s+")


def normalized_key(content: dict) -> str:
    """A whitespace- and case-insensitive fingerprint used to keep seed rows unique."""
    return _SPACES.sub(" ", json.dumps(content, sort_keys=True, ensure_ascii=False)).strip().lower()
