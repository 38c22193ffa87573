"""LoRA target modules are detected per architecture by inspecting the model, and PEFT attaches to them."""

from __future__ import annotations

import pytest
import torch
from peft import get_peft_model
from peft.tuners.lora import LoraLayer
from transformers import (
    AutoModelForCausalLM,
    GemmaConfig,
    GPT2Config,
    LlamaConfig,
    MistralConfig,
    PhiConfig,
    Qwen2Config,
)

from modelfactory.finetuning.training.model_loading import lora_config_for
from modelfactory.finetuning.training.spec import TrainingSpec
from modelfactory.finetuning.training.target_modules import (
    TargetModulesNotFound,
    detect_target_modules,
    resolve_target_modules,
)

TINY = dict(
    vocab_size=64,
    hidden_size=16,
    intermediate_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    num_key_value_heads=1,
    max_position_embeddings=32,
)
LLAMA_STYLE_ATTENTION = ("k_proj", "o_proj", "q_proj", "v_proj")
LLAMA_STYLE_MLP = ("down_proj", "gate_proj", "up_proj")

ARCHITECTURES = {
    "llama": (lambda: LlamaConfig(**TINY), LLAMA_STYLE_ATTENTION, LLAMA_STYLE_MLP, False),
    "qwen2": (lambda: Qwen2Config(**TINY), LLAMA_STYLE_ATTENTION, LLAMA_STYLE_MLP, False),
    "mistral": (lambda: MistralConfig(**TINY), LLAMA_STYLE_ATTENTION, LLAMA_STYLE_MLP, False),
    "gemma": (lambda: GemmaConfig(**TINY, head_dim=8), LLAMA_STYLE_ATTENTION, LLAMA_STYLE_MLP, False),
    "phi": (lambda: PhiConfig(**TINY), ("dense", "k_proj", "q_proj", "v_proj"), ("fc1", "fc2"), False),
    "gpt2": (
        lambda: GPT2Config(
            vocab_size=64, n_embd=16, n_layer=2, n_head=2, n_positions=32, bos_token_id=0, eos_token_id=0
        ),
        ("c_attn", "attn.c_proj"),
        ("c_fc", "mlp.c_proj"),
        True,
    ),
}


def tiny_model(architecture: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return AutoModelForCausalLM.from_config(ARCHITECTURES[architecture][0]())


@pytest.mark.parametrize("architecture", list(ARCHITECTURES))
def test_attention_and_mlp_projections_are_detected_for_each_architecture(architecture):
    _, attention, mlp, fan_in_fan_out = ARCHITECTURES[architecture]

    detected = detect_target_modules(tiny_model(architecture))

    assert detected.architecture == architecture
    assert detected.attention == attention
    assert detected.mlp == mlp
    assert detected.fan_in_fan_out is fan_in_fan_out


@pytest.mark.parametrize("architecture", list(ARCHITECTURES))
@pytest.mark.parametrize("choice", ["attention", "auto"])
def test_peft_attaches_lora_exactly_to_the_detected_layers_and_the_model_still_runs(architecture, choice):
    model = tiny_model(architecture)
    spec = TrainingSpec(base_model="tiny", rank=4, alpha=8, target_modules=choice)
    config = lora_config_for(spec, model)

    peft_model = get_peft_model(model, config)

    adapted = sorted(name for name, module in peft_model.named_modules() if isinstance(module, LoraLayer))
    _, attention, mlp, _ = ARCHITECTURES[architecture]
    per_layer = len(attention) + (len(mlp) if choice == "auto" else 0)
    assert len(adapted) == 2 * per_layer  # two blocks
    if choice == "attention":
        assert not any(".mlp." in name for name in adapted)
    assert not any("lm_head" in name or "embed" in name for name in adapted)
    output = peft_model(input_ids=torch.tensor([[1, 2, 3, 4]]))
    assert output.logits.shape == (1, 4, 64)
    assert torch.isfinite(output.logits).all()


def test_gpt2_conv1d_layers_are_adapted_with_fan_in_fan_out(recwarn):
    model = tiny_model("gpt2")
    config = lora_config_for(TrainingSpec(base_model="gpt2", target_modules="attention"), model)

    assert config.fan_in_fan_out is True
    get_peft_model(model, config)
    # PEFT warns (and flips the flag itself) when fan_in_fan_out is wrong for Conv1D; we set it right.
    assert not [w for w in recwarn if "fan_in_fan_out" in str(w.message)]


def test_explicit_target_module_names_are_passed_through_with_conv1d_detected():
    names, fan_in_fan_out = resolve_target_modules(tiny_model("gpt2"), ("c_attn",))
    assert (names, fan_in_fan_out) == (["c_attn"], True)
    names, fan_in_fan_out = resolve_target_modules(tiny_model("llama"), ("q_proj", "v_proj"))
    assert (names, fan_in_fan_out) == (["q_proj", "v_proj"], False)


def test_a_model_without_recognisable_blocks_asks_for_explicit_names():
    with pytest.raises(TargetModulesNotFound, match="list target_modules explicitly"):
        detect_target_modules(torch.nn.Sequential(torch.nn.Linear(4, 4)))
