"""Importing an existing PEFT adapter from a zip: safetensors only, checked against the base model.

Pickle files (`.bin`, `.pt`, `.pkl`) can run code when loaded, so a zip holding one is refused
outright; shapes are checked module by module against the registered base (on the meta device: no
weights loaded), so a mismatch is reported at upload, not at the first request.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from functools import cache
from pathlib import Path, PurePosixPath

from django.conf import settings

from modelfactory.catalog.models import BaseModel

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
MAX_ZIP_BYTES = 2 * 1024**3


class AdapterImportRefused(Exception):
    """The zip is not a usable PEFT adapter for this base model; the message says what to fix."""


@cache
def module_shapes(source: str) -> dict[str, tuple[int, int]]:
    """The base model's LoRA-able modules and their (in, out) shapes, from its config on the meta device."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from inference.base_model import locate_base_model
    from inference.lora_layers import linear_shape

    config = AutoConfig.from_pretrained(locate_base_model(source).path)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    return {name: shape for name, module in model.named_modules() if (shape := linear_shape(module))}


def unpack_adapter_zip(*, data: bytes, base_model: BaseModel, api_name: str) -> Path:
    """Validate and unpack into `VAR_DIR/adapters/<api_name>/`; returns that directory."""
    from inference.adapter_weights import read_adapter
    from inference.errors import EngineError

    if len(data) > MAX_ZIP_BYTES:
        raise AdapterImportRefused("the zip is larger than 2 GB; LoRA adapters are usually megabytes")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise AdapterImportRefused("this is not a zip file; upload a zip of the adapter's folder") from None
    names = [PurePosixPath(n) for n in archive.namelist() if not n.endswith("/")]
    if pickled := [str(n) for n in names if n.suffix.lower() in PICKLE_SUFFIXES]:
        raise AdapterImportRefused(
            f"pickle files are refused because loading them can run code: {', '.join(pickled)}; "
            "save the adapter with safe_serialization=True (adapter_model.safetensors)"
        )
    by_name = {n.name: n for n in names}
    for required in ("adapter_config.json", "adapter_model.safetensors"):
        if required not in by_name:
            raise AdapterImportRefused(f"the zip has no {required}; it must hold a PEFT adapter folder")
    target = Path(settings.VAR_DIR) / "adapters" / api_name
    staging = target.with_name(f".{api_name}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for required in ("adapter_config.json", "adapter_model.safetensors"):
        (staging / required).write_bytes(archive.read(str(by_name[required])))
    try:
        read_adapter(api_name, staging, module_shapes(base_model.source))
    except EngineError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise AdapterImportRefused(f"{error} (base model {base_model.name})") from None
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target
