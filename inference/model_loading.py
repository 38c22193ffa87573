"""Loading the one base model every adapter is served on: once, in the right dtype, with the best attention.

fp32 on CPU (bf16 matmuls on CPU are slow and would also break the 1e-4 agreement with PEFT), bf16 on
CUDA. flash-attention 2 is asked for only when the package is installed and a GPU is present, SDPA
otherwise; 4/8-bit bases need bitsandbytes *and* CUDA, and say so clearly when either is missing.
Nothing here ever downloads: the path must be a local directory (see `inference.base_model`).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from inference.base_model import locate_base_model

Quantization = Literal["4bit", "8bit"] | None


class BaseModelUnsupported(Exception):
    """The base model cannot be loaded as asked on this machine (missing package, no GPU, ...)."""


@dataclass
class LoadedModel:
    """The base model in eval mode, where it lives, and its tokenizer when the directory has one."""

    model: nn.Module
    device: torch.device
    dtype: torch.dtype
    tokenizer: object | None
    name: str


def default_device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def default_dtype(device: torch.device) -> torch.dtype:
    return torch.bfloat16 if device.type == "cuda" else torch.float32


def best_attention(device: torch.device) -> str:
    """flash_attention_2 only where it can actually run; SDPA is the safe, fast default everywhere else."""
    if device.type == "cuda" and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


def load_base_model(
    name_or_path: str | Path,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    quantization: Quantization = None,
) -> LoadedModel:
    """Load a local Hugging Face causal LM (Llama, Qwen2, Mistral, Gemma, GPT-2, ...) for serving."""
    from transformers import AutoModelForCausalLM

    info = locate_base_model(str(name_or_path))
    device = torch.device(device) if device is not None else default_device()
    dtype = dtype or default_dtype(device)
    kwargs: dict = {"dtype": dtype, "attn_implementation": best_attention(device)}
    if quantization is not None:
        kwargs["quantization_config"] = _bitsandbytes_config(quantization, device, dtype)
        kwargs["device_map"] = {"": device.index or 0}
    model = AutoModelForCausalLM.from_pretrained(str(info.path), local_files_only=True, **kwargs)
    if quantization is None:
        model.to(device)
    model.eval().requires_grad_(False)
    return LoadedModel(
        model=model, device=device, dtype=dtype, tokenizer=_load_tokenizer(info.path), name=info.name
    )


def wrap_loaded_model(
    model: nn.Module, tokenizer: object | None = None, name: str = "in-memory"
) -> LoadedModel:
    """Serve a model already built in memory (tests, benchmarks with random weights)."""
    parameter = next(model.parameters())
    model.eval().requires_grad_(False)
    return LoadedModel(
        model=model, device=parameter.device, dtype=parameter.dtype, tokenizer=tokenizer, name=name
    )


def _bitsandbytes_config(quantization: str, device: torch.device, dtype: torch.dtype):
    if importlib.util.find_spec("bitsandbytes") is None:
        raise BaseModelUnsupported(
            f"a {quantization} base needs the bitsandbytes package; install the `gpu` extra on a CUDA host"
        )
    if device.type != "cuda":
        raise BaseModelUnsupported(
            f"a {quantization} base needs a CUDA GPU; load it unquantized on CPU instead"
        )
    from transformers import BitsAndBytesConfig

    if quantization == "4bit":
        return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_compute_dtype=dtype, bnb_4bit_quant_type="nf4")
    if quantization == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    raise BaseModelUnsupported(f"unknown quantization {quantization!r}; expected '4bit', '8bit' or None")


def _load_tokenizer(directory: Path) -> object | None:
    if not any(
        (directory / name).is_file() for name in ("tokenizer.json", "tokenizer_config.json", "vocab.json")
    ):
        return None
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
