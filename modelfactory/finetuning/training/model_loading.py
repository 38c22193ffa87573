"""Load the base model the way the spec asks (precision, attention kernel, 4-bit for QLoRA) and add LoRA.

One place decides dtype and kernels so that training, evaluation and the benchmark's baseline load
the base identically; a difference here would show up as a mysterious throughput or loss gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from .capabilities import MachineCapabilities, attn_implementation_for, detect_capabilities
from .spec import TrainingSpec
from .target_modules import resolve_target_modules


@dataclass(frozen=True)
class LoadPlan:
    """How the base is loaded on this machine; recorded in the manifest."""

    device: str
    dtype: str
    attn_implementation: str
    load_in_4bit: bool
    bf16: bool
    fp16: bool

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def plan_loading(spec: TrainingSpec, capabilities: MachineCapabilities | None = None) -> LoadPlan:
    """CPU: fp32 (bf16 autocast on CPU is slower than fp32 for small models). CUDA: bf16, else fp16."""
    capabilities = capabilities or detect_capabilities()
    attn = attn_implementation_for(spec, capabilities)  # raises SpecInvalid for QLoRA/flash without support
    if not capabilities.cuda.available:
        return LoadPlan("cpu", "float32", attn, load_in_4bit=False, bf16=False, fp16=False)
    bf16 = capabilities.bf16
    return LoadPlan(
        "cuda",
        "bfloat16" if bf16 else "float16",
        attn,
        load_in_4bit=spec.method == "qlora",
        bf16=bf16,
        fp16=not bf16,
    )


def load_tokenizer(base_model: str) -> PreTrainedTokenizerBase:
    """The base's tokenizer, with a pad token (batches need one; eos is the usual stand-in)."""
    tokenizer = AutoTokenizer.from_pretrained(base_model)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_base_model(spec: TrainingSpec, plan: LoadPlan) -> PreTrainedModel:
    kwargs: dict[str, Any] = {
        "attn_implementation": plan.attn_implementation,
        "dtype": getattr(torch, plan.dtype),
    }
    if plan.load_in_4bit:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=getattr(torch, plan.dtype),
        )
        kwargs["device_map"] = {"": torch.cuda.current_device()}
    model = AutoModelForCausalLM.from_pretrained(spec.base_model, **kwargs)
    if plan.load_in_4bit:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=spec.gradient_checkpointing)
    return model


def lora_config_for(spec: TrainingSpec, model: torch.nn.Module) -> LoraConfig:
    """PEFT's config: targets detected for this architecture, DoRA when asked, Conv1D transposed."""
    targets, fan_in_fan_out = resolve_target_modules(model, spec.target_modules)
    return LoraConfig(
        r=spec.rank,
        lora_alpha=spec.alpha,
        lora_dropout=spec.dropout,
        target_modules=targets,
        fan_in_fan_out=fan_in_fan_out,
        use_dora=spec.method == "dora",
        bias="none",
        task_type="CAUSAL_LM",
    )


def attach_lora(model: PreTrainedModel, spec: TrainingSpec) -> PeftModel:
    return get_peft_model(model, lora_config_for(spec, model))
