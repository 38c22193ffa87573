"""Tiny real models and real PEFT adapters for the engine's tests: built in-process, random, seeded."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

ATTENTION = ["q_proj", "k_proj", "v_proj", "o_proj"]
MLP = ["gate_proj", "up_proj", "down_proj"]


def tiny_llama(seed: int = 0, vocab: int = 256, hidden: int = 64) -> LlamaForCausalLM:
    """hidden 64, 2 layers, GQA (4 query / 2 key-value heads): every code path, a few hundred kB."""
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab,
        hidden_size=hidden,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        eos_token_id=None,
        bos_token_id=None,
        pad_token_id=None,
        tie_word_embeddings=False,
    )
    return LlamaForCausalLM(config).eval()


def tiny_gpt2(seed: int = 0) -> GPT2LMHeadModel:
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=256, n_embd=64, n_layer=2, n_head=4, n_positions=256, eos_token_id=None, bos_token_id=None
    )
    return GPT2LMHeadModel(config).eval()


@dataclass
class AdapterSpec:
    name: str
    rank: int
    targets: list[str]
    alpha: float = 16.0
    use_rslora: bool = False
    dora: bool = False
    dropout: float = 0.0  # training-only: off when serving, so a served adapter must ignore it


@dataclass
class AdapterSet:
    """Adapters saved in PEFT format plus a PEFT model holding them all, for reference outputs."""

    paths: dict[str, Path]
    peft_model: PeftModel
    specs: dict[str, AdapterSpec]


def save_peft_adapters(
    base: torch.nn.Module, specs: list[AdapterSpec], directory: Path, seed: int = 1, b_std: float = 0.2
) -> AdapterSet:
    """Random (non-zero B) LoRA and DoRA adapters made and saved by PEFT itself, on a copy of `base`; DoRA
    magnitudes are perturbed too, so that m != ||W + s B A|| and every factor matters.

    ``b_std`` sizes the deltas: large enough to change every logit, small enough that a deep real model's
    activations stay in the range it was trained for.
    """
    model = None
    paths = {}
    for index, spec in enumerate(specs):
        torch.manual_seed(seed + index)
        config = LoraConfig(
            r=spec.rank,
            lora_alpha=spec.alpha,
            target_modules=spec.targets,
            init_lora_weights=False,
            use_rslora=spec.use_rslora,
            use_dora=spec.dora,
            lora_dropout=spec.dropout,
        )
        if model is None:
            model = get_peft_model(copy.deepcopy(base), config, adapter_name=spec.name)
        else:
            model.add_adapter(spec.name, config)
        with torch.no_grad():  # PEFT's non-init A/B are tiny; make the deltas matter for the comparison
            for module in model.modules():
                if hasattr(module, "lora_B") and spec.name in module.lora_B:
                    module.lora_B[spec.name].weight.normal_(0, b_std)
                    if spec.dora:
                        magnitude = module.lora_magnitude_vector[spec.name].weight
                        magnitude.mul_(1 + 0.3 * torch.randn_like(magnitude))
        path = directory / spec.name
        model.save_pretrained(str(path), selected_adapters=[spec.name])
        nested = path / spec.name
        paths[spec.name] = nested if nested.is_dir() else path
    model.eval()
    return AdapterSet(paths=paths, peft_model=model, specs={s.name: s for s in specs})


def submit_mixed(engine, count: int, seed: int, names: list[str | None], max_tokens: int = 6) -> list[tuple]:
    """`count` random prompts cycling over `names` (None: the base), greedy, logits kept for the comparison:
    [(prompt, adapter, handle)]."""
    from inference.request import Request
    from inference.sampling import SamplingParams
    from tests.inference.conftest import random_prompt

    generator = torch.Generator().manual_seed(seed)
    submitted = []
    for index in range(count):
        prompt = random_prompt(generator)
        adapter = names[index % len(names)]
        params = SamplingParams(max_tokens=max_tokens, ignore_eos=True)
        request = Request(prompt_token_ids=prompt, adapter=adapter, sampling=params, keep_logits=True)
        submitted.append((prompt, adapter, engine.submit(request)))
    return submitted


@torch.inference_mode()
def reference_logits(adapters: AdapterSet, adapter: str | None, token_ids: list[int]) -> torch.Tensor:
    """PEFT's single-adapter (or adapter-disabled) logits for every position of `token_ids`."""
    model = adapters.peft_model
    ids = torch.tensor([token_ids])
    if adapter is None:
        with model.disable_adapter():
            return model(input_ids=ids).logits[0]
    model.set_adapter(adapter)
    return model(input_ids=ids).logits[0]


class LetterTokenizer:
    """A stand-in tokenizer (token i is one letter) so stop strings and streaming text can be tested."""

    eos_token_id = None

    def __call__(self, text: str) -> dict:
        return {"input_ids": [ord(char) % 256 for char in text]}

    def decode(self, token_ids: list[int], skip_special_tokens: bool = True) -> str:
        return "".join(chr(ord("a") + token % 26) for token in token_ids)


def tiny_causal_lm(family: str, seed: int = 0) -> torch.nn.Module:
    """A tiny random model of another Llama-family architecture (Qwen2 has q/k/v biases; Gemma scales
    its embeddings and uses GeGLU; Mistral has its own config names)."""
    from transformers import AutoConfig, AutoModelForCausalLM

    torch.manual_seed(seed)
    config = AutoConfig.for_model(
        family,
        vocab_size=256,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        max_position_embeddings=256,
        eos_token_id=None,
        bos_token_id=None,
        pad_token_id=None,
    )
    return AutoModelForCausalLM.from_config(config, attn_implementation="sdpa").eval()


def limits_forcing(path: str, counts: list[int]) -> dict[str, int]:
    """`LoraBatch.build` limits that send every adapter token of a step of these sequence lengths down
    one path: "grouped" (every adapter has few enough tokens to bag, even one token alone is worth it)
    or "segmented" (none has few enough: every adapter gets its matmuls)."""
    if path == "grouped":
        return {"bag_max_tokens": sum(counts), "bag_min_tokens": 1}
    assert path == "segmented"
    return {"bag_max_tokens": 0}
