"""PEFT adapter folders for tests: read one, change its weights as a copier would, write and zip it.

Real files in PEFT's own format (adapter_config.json + adapter_model.safetensors, keys
``base_model.model.<module>.lora_A.weight``), so imports go through the same checks as a user's upload.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

Pairs = dict[str, tuple[torch.Tensor, torch.Tensor]]
"""module path -> (A [r, in], B [out, r]), as PEFT stores them."""


def read_pairs(directory: Path) -> tuple[Pairs, dict]:
    tensors = load_file(str(Path(directory) / "adapter_model.safetensors"))
    pairs: dict[str, dict[str, torch.Tensor]] = {}
    for key, tensor in tensors.items():
        module, which = key.removeprefix("base_model.model.").rsplit(".lora_", 1)
        pairs.setdefault(module, {})[which.split(".")[0]] = tensor
    config = json.loads((Path(directory) / "adapter_config.json").read_text())
    return {module: (half["A"], half["B"]) for module, half in pairs.items()}, config


def write_adapter(directory: Path, pairs: Pairs, *, rank: int, alpha: float, base: str | None = None) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for module, (a, b) in pairs.items():
        tensors[f"base_model.model.{module}.lora_A.weight"] = a.contiguous()
        tensors[f"base_model.model.{module}.lora_B.weight"] = b.contiguous()
    save_file(tensors, str(directory / "adapter_model.safetensors"))
    config = {
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "r": rank,
        "lora_alpha": alpha,
        "target_modules": sorted({module.rsplit(".", 1)[-1] for module in pairs}),
        "lora_dropout": 0.0,
        "bias": "none",
        "fan_in_fan_out": False,
        "base_model_name_or_path": base,
        "inference_mode": True,
    }
    (directory / "adapter_config.json").write_text(json.dumps(config))
    return directory


def random_pairs(shapes: dict[str, tuple[int, int]], *, rank: int, seed: int) -> Pairs:
    """Random LoRA weights for modules with (in, out) shapes, B non-zero (as after training)."""
    generator = torch.Generator().manual_seed(seed)
    return {
        module: (
            torch.randn(rank, in_features, generator=generator) / in_features**0.5,
            torch.randn(out_features, rank, generator=generator) * 0.02,
        )
        for module, (in_features, out_features) in sorted(shapes.items())
    }


def disguised(pairs: Pairs, *, scale: float, noise: float, seed: int) -> Pairs:
    """What someone hiding a copy might do: A times `scale`, B divided by it (the product is unchanged),
    then Gaussian noise of `noise` times each matrix's own spread added to both."""
    generator = torch.Generator().manual_seed(seed)

    def jitter(tensor: torch.Tensor) -> torch.Tensor:
        return tensor + torch.randn(tensor.shape, generator=generator) * noise * tensor.std()

    return {module: (jitter(a * scale), jitter(b / scale)) for module, (a, b) in pairs.items()}


def zipped(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in ("adapter_config.json", "adapter_model.safetensors"):
            archive.write(Path(directory) / name, arcname=name)
    return buffer.getvalue()
