"""Finding the base model every adapter is served on, before loading any weights.

`MODELFACTORY_BASE_MODEL` may be a local directory in Hugging Face format or a hub id that is
already in the local cache (no machine here reaches a model hub at run time), so resolution
never downloads and says exactly what is missing when it fails.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


class BaseModelNotFound(Exception):
    """The configured base model is neither a local model directory nor in the local HF cache."""


@dataclass(frozen=True)
class BaseModelInfo:
    name: str
    path: Path
    architecture: str
    model_type: str
    context_length: int | None
    hidden_size: int | None
    num_layers: int | None
    vocab_size: int | None

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "path": str(self.path),
            "architecture": self.architecture,
            "model_type": self.model_type,
            "context_length": self.context_length,
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "vocab_size": self.vocab_size,
        }


def locate_base_model(name: str) -> BaseModelInfo:
    """Resolve `name` to a directory holding config.json and describe the model it holds."""
    directory = _local_directory(name) or _cached_hub_snapshot(name)
    if directory is None:
        raise BaseModelNotFound(
            f"base model {name!r} is neither a directory with config.json nor a hub id in the local "
            "Hugging Face cache; run `make setup` for the default model (SmolLM2-135M-Instruct), or download "
            "the model on a connected machine and point MODELFACTORY_BASE_MODEL at its directory"
        )
    config = json.loads((directory / "config.json").read_text())
    architectures = config.get("architectures") or ["unknown"]
    return BaseModelInfo(
        name=name,
        path=directory,
        architecture=architectures[0],
        model_type=config.get("model_type", "unknown"),
        context_length=config.get("max_position_embeddings") or config.get("n_positions"),
        hidden_size=config.get("hidden_size") or config.get("n_embd"),
        num_layers=config.get("num_hidden_layers") or config.get("n_layer"),
        vocab_size=config.get("vocab_size"),
    )


def _local_directory(name: str) -> Path | None:
    candidate = Path(name).expanduser()
    if candidate.is_dir() and (candidate / "config.json").is_file():
        return candidate.resolve()
    return None


def _cached_hub_snapshot(name: str) -> Path | None:
    if name.count("/") != 1 or name.startswith(("/", ".", "~")):
        return None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - transformers always brings huggingface_hub
        return None
    cached = try_to_load_from_cache(repo_id=name, filename="config.json")
    if isinstance(cached, str):
        return Path(cached).parent
    return None
