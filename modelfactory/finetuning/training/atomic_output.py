"""Write an output directory or file all at once, so a reader (or a resumed run) never sees half of it.

The adapter directory is what the serving pool loads and what "Download" zips: a worker killed while
writing it must leave either the previous complete adapter or none, never weights without a config.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any


def publish_directory(target: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(staging)`` on a hidden sibling directory, then rename it to ``target``."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    for leftover in target.parent.glob(f".{target.name}.staging-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    staging = target.parent / f".{target.name}.staging-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        write(staging)
        retired = None
        if target.exists():
            # rename() cannot replace a non-empty directory: move the old one aside first. A kill in
            # between leaves `target` absent (the run is then redone), never half-complete.
            retired = target.parent / f".{target.name}.retired-{uuid.uuid4().hex[:8]}"
            target.rename(retired)
        staging.rename(target)
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def write_json_atomically(path: Path, data: Any) -> None:
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    temporary.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(temporary, path)
