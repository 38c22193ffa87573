"""Prepare the default base model: find the wheel's GGUF, check it, convert it once into ``var/models``."""

from __future__ import annotations

import os
from pathlib import Path

from .gguf_conversion import ConversionRecord, convert_gguf
from .packaged_gguf import DEFAULT_MODEL_NAME, PACKAGE, packaged_gguf

REPO_ROOT = Path(__file__).resolve().parents[2]


def default_model_dir(var_dir: Path | None = None) -> Path:
    """``<MODELFACTORY_VAR_DIR or ./var>/models/smollm2-135m-instruct``: the same rule as the settings."""
    if var_dir is None:
        var_dir = Path(os.environ.get("MODELFACTORY_VAR_DIR") or REPO_ROOT / "var")
    return Path(var_dir) / "models" / DEFAULT_MODEL_NAME


def prepare_default_model(output_dir: Path | None = None, *, force: bool = False) -> ConversionRecord:
    """The converted model in ``output_dir`` (default: `default_model_dir`), converting it when needed.

    Raises `ModelSetupError` with one line naming what to do: package missing, GGUF corrupt, too little
    disk, or a GGUF that transformers cannot read.
    """
    output_dir = Path(output_dir) if output_dir is not None else default_model_dir()
    gguf = packaged_gguf()
    return convert_gguf(gguf.path, output_dir, gguf_sha256=gguf.sha256, package=PACKAGE, force=force)
