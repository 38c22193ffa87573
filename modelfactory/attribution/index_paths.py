"""Where attribution's index files live: under `VAR_DIR/attribution/`, one directory per index."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings


def attribution_dir() -> Path:
    return Path(settings.VAR_DIR) / "attribution"


def sketch_directory(*, published_id: int, version: int) -> Path:
    return attribution_dir() / "sketches" / f"model-{published_id}-v{version}"


def span_index_directory(*, version_id: int) -> Path:
    return attribution_dir() / "spans" / f"version-{version_id}"
