"""The five demo datanets: catalogue metadata, owners, and how their rows are produced.

Each datanet draws its content and its attribution from its own seeded random stream
(named after the slug), so changing one datanet's building blocks never reshuffles the
others, and every run produces identical rows.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from .attribution import attribute, contributor_pool
from .contributors import usernames
from .cooking import cooking_rows
from .field_notes import field_note_rows
from .python_help import python_rows
from .records import SeedDatanet, SeedRow
from .regulation_faq import regulation_rows
from .support_desk import support_rows


@dataclass(frozen=True)
class DatanetSpec:
    """Everything about a demo datanet except its rows."""

    slug: str
    title: str
    description: str
    tags: tuple[str, ...]
    license: str
    owner: str
    row_count: int
    build: Callable[[int, random.Random], list[dict]]


SPECS: tuple[DatanetSpec, ...] = (
    DatanetSpec(
        slug="lumen-support",
        title="Lumen Support Desk",
        description=(
            "Customer-support conversations for Lumen, a (fictional) family of smart desk lamps and their "
            "companion app, Lumen Home: setup and Wi-Fi problems, firmware, battery and charging, warranty "
            "and returns. Chat format with optional system prompts and multi-turn follow-ups; every answer "
            "follows one consistent product fact sheet."
        ),
        tags=("customer-support", "chat", "smart-home", "english"),
        license="CC-BY-4.0",
        owner="mira_v",
        row_count=640,
        build=support_rows,
    ),
    DatanetSpec(
        slug="harbor-regulation-faq",
        title="Harbor Data Protection Act FAQ",
        description=(
            "Questions and answers about the Harbor Data Protection Act, the (fictional) privacy law of the "
            "Republic of Solmare: scope, lawful bases, individuals' rights, breach notification, "
            "registration and fines. Prompt/completion format; scenario answers compute real deadlines and "
            "fine ceilings from the Act's rules."
        ),
        tags=("legal", "privacy", "faq", "fictional"),
        license="CC-BY-SA-4.0",
        owner="tariq_h",
        row_count=520,
        build=regulation_rows,
    ),
    DatanetSpec(
        slug="hearth-cooking",
        title="Hearth Home Cooking",
        description=(
            "A home-cooking assistant: complete recipes scaled to the number of servings asked for, "
            "techniques, substitutions, troubleshooting, kitchen conversions and food-safety temperatures "
            "and storage times. Chat format."
        ),
        tags=("cooking", "recipes", "chat", "english"),
        license="CC-BY-4.0",
        owner="rosa_g",
        row_count=720,
        build=cooking_rows,
    ),
    DatanetSpec(
        slug="python-help",
        title="Python Help Desk",
        description=(
            "Python programming help with short standard-library snippets. Every 'Output' block was produced "
            "by actually running the snippet, so code and output always agree. Chat format."
        ),
        tags=("programming", "python", "code", "chat"),
        license="MIT",
        owner="dev_p",
        row_count=620,
        build=python_rows,
    ),
    DatanetSpec(
        slug="field-notes",
        title="Wrenmoor Field Notes",
        description=(
            "Entries from the journal of the (fictional) Wrenmoor Naturalists' Circle: dated observations of "
            "birds, mammals, insects and plants, with weather and places that fit the season. Plain text "
            "rows."
        ),
        tags=("nature", "journal", "plain-text", "english"),
        license="CC0-1.0",
        owner="esme_w",
        row_count=480,
        build=field_note_rows,
    ),
)


def _build(spec: DatanetSpec) -> SeedDatanet:
    contents = spec.build(spec.row_count, random.Random(f"content:{spec.slug}"))
    attribution_rng = random.Random(f"attribution:{spec.slug}")
    pool = contributor_pool(spec.owner, usernames(), attribution_rng)
    contributors = attribute(len(contents), pool, attribution_rng)
    pairs = zip(contributors, contents, strict=True)
    rows = tuple(SeedRow(contributor=name, content=content) for name, content in pairs)
    return SeedDatanet(
        slug=spec.slug,
        title=spec.title,
        description=spec.description,
        tags=spec.tags,
        license=spec.license,
        owner=spec.owner,
        rows=rows,
    )


@cache
def all_datanets() -> tuple[SeedDatanet, ...]:
    """Build every demo datanet once per process."""
    return tuple(_build(spec) for spec in SPECS)
