"""The manifest: everything needed to know what an adapter is, where it came from, and to check it.

Written last into the job's output directory (its presence means "this run completed"), it records
the base model (id and a hash of its weights), the datanet versions and Merkle roots the caller
trained on, the ordered training row ids (attribution pays per row), the hyperparameters, final
metrics, project version, a content hash of the adapter files, and **reference logits**: what the
adapter outputs for a fixed probe input. Anyone can reload the adapter with plain PEFT, run the
recorded probe token ids, and compare (`reproduce_reference_logits` / `reference_logits_match`):
a corrupt, swapped or mis-loaded adapter shows up as different numbers.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedTokenizerBase

from primitives.atomic_files import write_json_atomically
from primitives.file_digest import sha256_of_file

from .data import chat_template_of

MANIFEST_FILENAME = "manifest.json"
MANIFEST_VERSION = 1
PROBE_MESSAGES: tuple[dict[str, str], ...] = (
    {"role": "user", "content": "What is 2 plus 3? Answer in one short sentence."},
)
REFERENCE_TOP_K = 16
REFERENCE_DECIMALS = 4


@dataclass(frozen=True)
class DatanetVersionRef:
    """One datanet version the caller trained on; the library records it, it does not look it up."""

    datanet_id: Any
    version: Any
    merkle_root: str
    name: str = ""
    row_count: int | None = None


# --- Hashes ----------------------------------------------------------------------------------------
def directory_content_hash(directory: Path, *, pattern: str = "*") -> tuple[str, dict[str, str]]:
    """sha256 over (name, sha256) of the files matching ``pattern``, sorted by name; and per-file hashes."""
    files = {p.name: sha256_of_file(p) for p in sorted(Path(directory).glob(pattern)) if p.is_file()}
    combined = hashlib.sha256("".join(f"{name}\0{digest}\n" for name, digest in files.items()).encode())
    return combined.hexdigest(), files


def default_cache_dir() -> Path:
    return Path(os.environ.get("MODELFACTORY_CACHE_DIR") or Path.home() / ".cache" / "modelfactory")


def resolve_model_dir(base_model: str) -> Path | None:
    """The local directory of a base model given by path or by an id already in the local HF cache."""
    if Path(base_model).is_dir():
        return Path(base_model).resolve()
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(base_model, local_files_only=True))
    except Exception:  # not cached locally: no hash rather than a network call
        return None


def base_weights_sha256(base_model: str, *, cache_dir: Path | None = None) -> str | None:
    """Hash of the base's ``*.safetensors`` files, cached by (path, size, mtime): multi-GB bases hash once.

    None when the weights cannot be found locally (the manifest then says so rather than guessing).
    """
    model_dir = resolve_model_dir(base_model)
    if model_dir is None:
        return None
    files = sorted(model_dir.glob("*.safetensors"))
    if not files:
        return None
    stamp = {p.name: [p.stat().st_size, p.stat().st_mtime_ns] for p in files}
    cache_file = (cache_dir or default_cache_dir()) / "base_weights_sha256.json"
    cache: dict[str, Any] = {}
    if cache_file.is_file():
        try:
            cache = json.loads(cache_file.read_text())
        except ValueError:
            cache = {}
    entry = cache.get(str(model_dir))
    if entry and entry.get("files") == stamp:
        return entry["sha256"]
    digest, _ = directory_content_hash(model_dir, pattern="*.safetensors")
    cache[str(model_dir)] = {"files": stamp, "sha256": digest}
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomically(cache_file, cache)
    except OSError:
        pass  # a read-only cache only costs a re-hash next time
    return digest


def project_version() -> str:
    try:
        return metadata.version("modelfactory")
    except metadata.PackageNotFoundError:
        return "unknown"


# --- Reference logits ------------------------------------------------------------------------------
def probe_input_ids(tokenizer: PreTrainedTokenizerBase) -> list[int]:
    template, _ = chat_template_of(tokenizer)
    encoded = tokenizer.apply_chat_template(
        list(PROBE_MESSAGES),
        chat_template=template,
        add_generation_prompt=True,
        tokenize=True,
        return_dict=True,
    )
    return list(encoded["input_ids"])


@torch.no_grad()
def reproduce_reference_logits(model: torch.nn.Module, input_ids: Sequence[int]) -> torch.Tensor:
    """Last-position logits (float32, CPU) of ``model`` for the probe ids, with dropout off."""
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        logits = model(input_ids=torch.tensor([list(input_ids)], device=device)).logits
    finally:
        model.train(was_training)
    return logits[0, -1].float().cpu()


def reference_logits(model: torch.nn.Module, tokenizer: PreTrainedTokenizerBase) -> dict[str, Any]:
    """The probe, its ids, and the adapter's top-k last-position logits, rounded."""
    input_ids = probe_input_ids(tokenizer)
    logits = reproduce_reference_logits(model, input_ids)
    top = torch.topk(logits, k=min(REFERENCE_TOP_K, logits.numel()))
    dtype = next(model.parameters()).dtype
    return {
        "probe_messages": list(PROBE_MESSAGES),
        "input_ids": input_ids,
        "position": "last",
        "token_ids": top.indices.tolist(),
        "logits": [round(v, REFERENCE_DECIMALS) for v in top.values.tolist()],
        "decimals": REFERENCE_DECIMALS,
        "computed_in": str(dtype).removeprefix("torch."),
    }


def reference_logits_match(
    reference: Mapping[str, Any], model: torch.nn.Module, *, atol: float = 1e-3
) -> bool:
    """Does ``model`` (e.g. base + adapter reloaded with plain PEFT) reproduce the recorded logits?"""
    logits = reproduce_reference_logits(model, reference["input_ids"])
    reproduced = logits[torch.tensor(reference["token_ids"])]
    return bool(torch.allclose(reproduced, torch.tensor(reference["logits"]), atol=atol, rtol=0.0))


# --- The manifest ----------------------------------------------------------------------------------
def build_manifest(
    *,
    base_model: str,
    architecture: str,
    datanets: Sequence[DatanetVersionRef],
    training_row_ids: Sequence[Any],
    eval_row_ids: Sequence[Any],
    hyperparameters: Mapping[str, Any],
    resolved: Mapping[str, Any],
    data_report: Mapping[str, Any],
    final_metrics: Mapping[str, Any],
    evaluation: Mapping[str, Any] | None,
    adapter_dir: Path,
    reference: Mapping[str, Any],
    weights_cache_dir: Path | None = None,
) -> dict[str, Any]:
    adapter_hash, adapter_files = directory_content_hash(adapter_dir)
    return {
        "manifest_version": MANIFEST_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "project_version": project_version(),
        "base_model": {
            "id": base_model,
            "architecture": architecture,
            "weights_sha256": base_weights_sha256(base_model, cache_dir=weights_cache_dir),
        },
        "datanets": [asdict(ref) for ref in datanets],
        "training_row_ids": list(training_row_ids),
        "eval_row_ids": list(eval_row_ids),
        "hyperparameters": dict(hyperparameters),
        "resolved": dict(resolved),
        "data": dict(data_report),
        "metrics": dict(final_metrics),
        "evaluation": dict(evaluation) if evaluation is not None else None,
        "adapter": {
            "format": "peft",
            "directory": adapter_dir.name,
            "files": adapter_files,
            "content_sha256": adapter_hash,
        },
        "reference_logits": dict(reference),
    }


def write_manifest(output_dir: Path, manifest: Mapping[str, Any]) -> Path:
    path = Path(output_dir) / MANIFEST_FILENAME
    write_json_atomically(path, manifest)
    return path


def read_manifest(output_dir: Path) -> dict[str, Any] | None:
    path = Path(output_dir) / MANIFEST_FILENAME
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError:
        return None
