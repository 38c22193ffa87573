"""Demo content written for ModelFactory: the seed datanets and their contributors.

The seed is the demo data that `make run` loads (and what the benchmarks train on), so it
must stay original, deterministic and free of any download.

Everything is composed in memory from hand-written building blocks on first use (cached
per process, well under a second), so there are no generated data files to keep in sync:
the prose is in content/*.json (read by content_files), and the modules named after each
datanet hold the code that samples and composes rows from it.
`seed_datanets()` hands out deep copies, so a caller editing a row's `content` dict cannot
change what the next caller sees.
"""

from __future__ import annotations

import copy

from .catalog import all_datanets
from .contributors import seed_contributors
from .records import SeedContributor, SeedDatanet, SeedRow, row_format

__all__ = [
    "SeedContributor",
    "SeedDatanet",
    "SeedRow",
    "row_format",
    "seed_contributors",
    "seed_datanets",
]


def seed_datanets() -> list[SeedDatanet]:
    """The five demo datanets, each with 300–1,000 attributed rows in a single row format."""
    return copy.deepcopy(list(all_datanets()))
