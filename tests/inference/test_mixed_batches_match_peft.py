"""Mixed batches of different adapters (ranks 4-64, attention and MLP targets) give PEFT's answers."""

from __future__ import annotations

import pytest
import torch

from inference.engine import Engine
from inference.request import Request
from inference.sampling import SamplingParams
from tests.inference.conftest import LLAMA_ADAPTERS, random_prompt
from tests.inference.factories import (
    AdapterSpec,
    reference_logits,
    save_peft_adapters,
    submit_mixed,
    tiny_gpt2,
)

TOLERANCE = 1e-4


def _assert_matches_reference(adapters, submitted) -> None:
    for prompt, adapter, handle in submitted:
        completion = handle.result(timeout=0)
        full = prompt + completion.token_ids
        expected = reference_logits(adapters, adapter, full)[len(prompt) - 1 : len(full) - 1]
        got = torch.stack(completion.logits)
        assert completion.token_ids == expected.argmax(-1).tolist(), f"greedy tokens differ for {adapter}"
        assert (got - expected).abs().max().item() < TOLERANCE, f"logits differ for {adapter}"


@pytest.mark.parametrize("batch_size", [1, 7, 64])
def test_mixed_adapter_batch_matches_peft_single_adapter_logits(engine, llama_adapters, batch_size):
    names = [None, *[spec.name for spec in LLAMA_ADAPTERS]]
    submitted = submit_mixed(engine, batch_size, seed=batch_size, names=names)
    engine.run_until_idle()
    _assert_matches_reference(llama_adapters, submitted)
    assert engine.stats()["failed"] == 0


def test_requests_without_adapter_match_the_plain_base_model(engine, llama_adapters):
    submitted = submit_mixed(engine, 8, seed=3, names=[None, "all-r64-rslora"])
    engine.run_until_idle()
    _assert_matches_reference(llama_adapters, submitted)


def test_base_only_engine_matches_the_plain_base_model(llama_adapters):
    from tests.inference.factories import tiny_llama

    engine = Engine(tiny_llama(seed=0), enable_lora=False, kv_cache_bytes=1 << 20, block_size=8)
    submitted = submit_mixed(engine, 5, seed=4, names=[None])
    engine.run_until_idle()
    _assert_matches_reference(llama_adapters, submitted)


def test_requests_joining_mid_generation_still_match(engine, llama_adapters):
    """Continuous batching: new prompts are prefilled in the same steps as running decodes."""
    first = submit_mixed(engine, 6, seed=5, names=["qv-r4", "mlp-r8", None], max_tokens=10)
    for _ in range(3):
        engine.step()
    second = submit_mixed(engine, 6, seed=6, names=["all-r16", "ko-r32", "gate-down-r12"], max_tokens=4)
    engine.run_until_idle()
    _assert_matches_reference(llama_adapters, first + second)


def test_a_tiny_kv_cache_preempts_and_recomputes_without_changing_outputs(llama_adapters):
    from tests.inference.factories import tiny_llama

    engine = Engine(tiny_llama(seed=0), kv_cache_bytes=48 * 1024, block_size=4)  # ~46 blocks of 4 tokens
    for spec in LLAMA_ADAPTERS:
        engine.register_adapter(spec.name, llama_adapters.paths[spec.name])
    submitted = submit_mixed(engine, 16, seed=7, names=[spec.name for spec in LLAMA_ADAPTERS], max_tokens=12)
    engine.run_until_idle()
    _assert_matches_reference(llama_adapters, submitted)
    assert engine.stats()["preemptions"] > 0
    assert engine.stats()["kv_blocks_free"] == engine.stats()["kv_blocks_total"]


def test_gpt2_conv1d_adapters_match_peft(tmp_path):
    specs = [
        AdapterSpec("gpt-qkv-r8", 8, ["c_attn"]),  # adapter names must not equal module names ("mlp"):
        AdapterSpec("gpt-proj-fc-r16", 16, ["c_fc", "c_proj"]),  # PEFT's saver then drops weights
    ]
    adapters = save_peft_adapters(tiny_gpt2(seed=0), specs, tmp_path)
    engine = Engine(tiny_gpt2(seed=0), kv_cache_bytes=1 << 20, block_size=8)
    for spec in specs:
        engine.register_adapter(spec.name, adapters.paths[spec.name])
    submitted = submit_mixed(engine, 6, seed=8, names=["gpt-qkv-r8", "gpt-proj-fc-r16", None])
    engine.run_until_idle()
    _assert_matches_reference(adapters, submitted)


def test_a_batch_where_every_request_has_its_own_adapter_matches_peft(engine, llama_adapters, monkeypatch):
    """Single-token adapters take the gathered-bmm path (BGMV); each name is a separate cache entry."""
    from inference.lora_layers import MultiLoraLayer

    bmm_calls = []
    original_grouped = MultiLoraLayer._grouped
    monkeypatch.setattr(
        MultiLoraLayer, "_grouped", lambda self, *args: bmm_calls.append(1) or original_grouped(self, *args)
    )
    aliases = {}
    for copy in range(4):
        for spec in LLAMA_ADAPTERS:
            alias = f"{spec.name}-copy{copy}"
            engine.register_adapter(alias, llama_adapters.paths[spec.name])
            aliases[alias] = spec.name
    generator = torch.Generator().manual_seed(11)
    submitted = []
    for alias, original in aliases.items():
        prompt = random_prompt(generator)
        params = SamplingParams(max_tokens=5, ignore_eos=True)
        request = Request(prompt_token_ids=prompt, adapter=alias, sampling=params, keep_logits=True)
        submitted.append((prompt, original, engine.submit(request)))
    engine.run_until_idle()
    _assert_matches_reference(llama_adapters, submitted)
    assert engine.stats()["adapters"]["device_resident"] == len(aliases)
    assert bmm_calls, "decode steps of single-token adapters should use the gathered bmm"


@pytest.mark.parametrize("family", ["qwen2", "mistral", "gemma"])
def test_other_llama_family_architectures_match_peft(tmp_path, family):
    from tests.inference.factories import ATTENTION, MLP, tiny_causal_lm

    specs = [AdapterSpec(f"{family}-attn-r8", 8, ATTENTION), AdapterSpec(f"{family}-mlp-r16", 16, MLP)]
    adapters = save_peft_adapters(tiny_causal_lm(family), specs, tmp_path)
    engine = Engine(tiny_causal_lm(family), kv_cache_bytes=1 << 20, block_size=8)
    for spec in specs:
        engine.register_adapter(spec.name, adapters.paths[spec.name])
    submitted = submit_mixed(engine, 6, seed=9, names=[specs[0].name, specs[1].name, None])
    engine.run_until_idle()
    _assert_matches_reference(adapters, submitted)
