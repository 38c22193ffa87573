"""What this machine can train with: CUDA, 4-bit QLoRA (bitsandbytes), flash-attention 2.

Each capability carries a sentence for people, not just a boolean: the wizard shows QLoRA disabled
*with the reason*, and a spec that asks for something the worker cannot do fails with the same
sentence (`SpecInvalid`) instead of an ImportError from deep inside a library.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache

import torch

from .spec import SpecInvalid, TrainingSpec


@dataclass(frozen=True)
class Capability:
    available: bool
    reason: str
    """Why it is unavailable (empty when available): shown next to the disabled option."""


@dataclass(frozen=True)
class MachineCapabilities:
    cuda: Capability
    gpu_count: int
    gpu_names: tuple[str, ...]
    bf16: bool
    qlora: Capability
    flash_attention: Capability

    @property
    def attn_implementation(self) -> str:
        """flash_attention_2 where it can run (installed, on a GPU), SDPA everywhere else."""
        return "flash_attention_2" if self.flash_attention.available else "sdpa"

    @property
    def hardware(self) -> str:
        """``gpu`` or ``cpu``: the preset family and the Celery queue a job on this machine belongs to."""
        return "gpu" if self.cuda.available else "cpu"

    def to_json(self) -> dict[str, object]:
        return {
            "cuda": self.cuda.available,
            "cuda_reason": self.cuda.reason,
            "gpu_count": self.gpu_count,
            "gpu_names": list(self.gpu_names),
            "bf16": self.bf16,
            "qlora": self.qlora.available,
            "qlora_reason": self.qlora.reason,
            "flash_attention": self.flash_attention.available,
            "flash_attention_reason": self.flash_attention.reason,
            "attn_implementation": self.attn_implementation,
        }


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def probe_capabilities(
    *,
    cuda_available: bool,
    gpu_names: tuple[str, ...],
    bf16: bool,
    has_bitsandbytes: bool,
    has_flash_attn: bool,
) -> MachineCapabilities:
    """Combine raw facts into capabilities with reasons (separate from detection so it can be tested)."""
    cuda = Capability(True, "") if cuda_available else Capability(False, "this machine has no CUDA GPU")
    if cuda_available and has_bitsandbytes:
        qlora = Capability(True, "")
    elif not cuda_available:
        qlora = Capability(False, "QLoRA needs a CUDA GPU and bitsandbytes; this machine has no GPU")
    else:
        qlora = Capability(False, "QLoRA needs bitsandbytes, which is not installed on this GPU machine")
    if cuda_available and has_flash_attn:
        flash = Capability(True, "")
    elif not cuda_available:
        flash = Capability(
            False, "flash-attention 2 needs a CUDA GPU; this machine has no GPU (SDPA is used)"
        )
    else:
        flash = Capability(False, "flash-attention 2 (flash-attn) is not installed (SDPA is used)")
    return MachineCapabilities(
        cuda=cuda,
        gpu_count=len(gpu_names),
        gpu_names=gpu_names,
        bf16=bf16,
        qlora=qlora,
        flash_attention=flash,
    )


@lru_cache(maxsize=1)
def detect_capabilities() -> MachineCapabilities:
    """Look at this process's machine once (importing nothing heavy: packages are found, not loaded)."""
    cuda_available = torch.cuda.is_available()
    names = (
        tuple(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        if cuda_available
        else ()
    )
    bf16 = bool(cuda_available and torch.cuda.is_bf16_supported())
    return probe_capabilities(
        cuda_available=cuda_available,
        gpu_names=names,
        bf16=bf16,
        has_bitsandbytes=_importable("bitsandbytes"),
        has_flash_attn=_importable("flash_attn"),
    )


def require_supported(spec: TrainingSpec, capabilities: MachineCapabilities | None = None) -> None:
    """Refuse a spec this machine cannot run, with the human reason, before any model is loaded."""
    capabilities = capabilities or detect_capabilities()
    if spec.method == "qlora" and not capabilities.qlora.available:
        raise SpecInvalid("method", capabilities.qlora.reason)
    if spec.attention == "flash_attention_2" and not capabilities.flash_attention.available:
        raise SpecInvalid("attention", capabilities.flash_attention.reason)


def attn_implementation_for(spec: TrainingSpec, capabilities: MachineCapabilities | None = None) -> str:
    """The attention kernel to load the model with: the spec's explicit choice, else the best available."""
    capabilities = capabilities or detect_capabilities()
    require_supported(spec, capabilities)
    return capabilities.attn_implementation if spec.attention == "auto" else spec.attention
