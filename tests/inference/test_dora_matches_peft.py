"""DoRA adapters (PEFT `use_dora=True`) served in mixed batches give PEFT's answers.

Batches mix DoRA adapters of several ranks and targets, plain LoRA adapters and base requests; each
request's greedy tokens and logits must equal PEFT's for that adapter alone within 1e-4 (fp32). The
batched layer's DoRA path (precomputed per-output factors, applied by gather/scale/scatter) is also
checked against the plain merged-weight formula (`dora_reference`), and merges of DoRA adapters are
refused with the reason.
"""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from inference.adapter_merging import merge_adapters
from inference.adapter_weights import read_adapter, servability_problem
from inference.engine import Engine
from inference.errors import AdapterIncompatible
from inference.lora_batch import LoraBatch
from inference.lora_layers import (
    LoraContext,
    MultiLoraLayer,
    MultiLoraModel,
    ResidentAdapter,
    dora_reference,
    dora_scale,
)
from inference.request import Request
from inference.sampling import SamplingParams
from tests.inference.factories import (
    ATTENTION,
    MLP,
    AdapterSet,
    AdapterSpec,
    limits_forcing,
    reference_logits,
    save_peft_adapters,
    submit_mixed,
    tiny_gpt2,
    tiny_llama,
)

TOLERANCE = 1e-4


LLAMA_SPECS = [
    AdapterSpec("dora-qv-r4", 4, ["q_proj", "v_proj"], dora=True),
    AdapterSpec("dora-mlp-r8", 8, MLP, dora=True, dropout=0.1),  # dropout is training-only: off when serving
    AdapterSpec("dora-all-r16", 16, ATTENTION + MLP, dora=True, alpha=32),
    AdapterSpec("dora-ko-r32-rslora", 32, ["k_proj", "o_proj"], dora=True, use_rslora=True),
    AdapterSpec("lora-all-r8", 8, ATTENTION + MLP, dora=False),
    AdapterSpec("lora-gate-down-r12", 12, ["gate_proj", "down_proj"], dora=False, alpha=8),
]


@pytest.fixture(scope="module")
def llama_dora(tmp_path_factory) -> AdapterSet:
    return save_peft_adapters(tiny_llama(seed=0), LLAMA_SPECS, tmp_path_factory.mktemp("dora-adapters"))


def _engine(adapters: AdapterSet, base: nn.Module, **options) -> Engine:
    engine = Engine(base, kv_cache_bytes=options.pop("kv_cache_bytes", 4 << 20), block_size=8, **options)
    for name, path in adapters.paths.items():
        engine.register_adapter(name, path)
    return engine


def _assert_matches_peft(adapters: AdapterSet, submitted) -> None:
    for prompt, adapter, handle in submitted:
        completion = handle.result(timeout=0)
        assert completion.error is None, completion.error
        full = prompt + completion.token_ids
        expected = reference_logits(adapters, adapter, full)[len(prompt) - 1 : len(full) - 1]
        got = torch.stack(completion.logits)
        assert completion.token_ids == expected.argmax(-1).tolist(), f"greedy tokens differ for {adapter}"
        difference = (got - expected).abs().max().item()
        assert difference < TOLERANCE, f"logits differ for {adapter} by {difference}"


ALL_NAMES = [*[spec.name for spec in LLAMA_SPECS], None]


def test_the_magnitudes_really_change_the_output(llama_dora):
    """The comparison means something: a DoRA adapter's answer is neither the base's nor its plain LoRA's."""
    prompt = [5, 17, 99, 3]
    dora = reference_logits(llama_dora, "dora-all-r16", prompt)
    base = reference_logits(llama_dora, None, prompt)
    model = llama_dora.peft_model
    model.set_adapter("dora-all-r16")
    layer = model.base_model.model.model.layers[0].self_attn.q_proj
    magnitude = layer.lora_magnitude_vector["dora-all-r16"].weight
    norm = layer.lora_magnitude_vector["dora-all-r16"].get_weight_norm(
        layer.base_layer.weight,
        layer.lora_B["dora-all-r16"].weight @ layer.lora_A["dora-all-r16"].weight,
        layer.scaling["dora-all-r16"],
    )
    assert (dora - base).abs().max() > 0.05
    assert ((magnitude / norm) - 1).abs().max() > 0.05


@pytest.mark.parametrize("batch_size", [1, 7, 24])
def test_a_mixed_batch_of_dora_lora_and_base_requests_matches_peft(llama_dora, batch_size):
    engine = _engine(llama_dora, tiny_llama(seed=0))
    submitted = submit_mixed(engine, batch_size, seed=batch_size, names=ALL_NAMES)
    engine.run_until_idle()
    _assert_matches_peft(llama_dora, submitted)
    engine.close()


def test_requests_joining_mid_generation_and_per_request_adapters_still_match(llama_dora):
    """Prefills (matmul segments) beside decodes (bags); many aliases of the DoRA adapters so that each
    decode token has an adapter of its own (every DoRA row of the step a different factor row)."""
    engine = _engine(llama_dora, tiny_llama(seed=0))
    names: list[str | None] = [None]
    for copy_index in range(3):
        for spec in LLAMA_SPECS:
            alias = f"{spec.name}-copy{copy_index}"
            engine.register_adapter(alias, llama_dora.paths[spec.name])
            names.append(alias)
    first = submit_mixed(engine, 10, seed=21, names=names[::2], max_tokens=10)
    for _ in range(3):
        engine.step()
    second = submit_mixed(engine, 10, seed=22, names=names[1::2], max_tokens=4)
    engine.run_until_idle()
    original = {alias: alias.rsplit("-copy", 1)[0] for alias in names if alias}
    _assert_matches_peft(
        llama_dora, [(prompt, original.get(alias), handle) for prompt, alias, handle in first + second]
    )
    assert engine.stats()["adapters"]["device_resident"] == len(names) - 1
    engine.close()


def test_evicted_and_reused_rows_never_carry_a_stale_dora_factor(llama_dora):
    """A device tier of a few pages: adapters are evicted and their pages (and factor rows) taken by
    others, DoRA or not, targeting other layers; every answer still equals PEFT's."""
    base = tiny_llama(seed=0)
    engine = _engine(
        llama_dora, base, device_adapter_budget_bytes=1, max_rank=32, page_rows=8, max_num_seqs=4
    )
    assert engine.adapters.num_pages - 1 == 4  # max_rank rows: one rank-32 adapter at a time
    rounds = [  # page 1 is the factor row of each round's first adapter, over layers the others do not target
        ["dora-all-r16"],
        ["dora-ko-r32-rslora"],
        ["dora-qv-r4", "dora-mlp-r8"],
        ALL_NAMES[::2],
        ALL_NAMES[1::2],
    ]
    submitted = []
    for round_index, names in enumerate(rounds):
        submitted += submit_mixed(engine, 4, seed=30 + round_index, names=names, max_tokens=3)
        engine.run_until_idle()
    _assert_matches_peft(llama_dora, submitted)
    assert engine.stats()["adapters"]["evictions"].get("device:lru", 0) > 0
    engine.close()


def _random_biases(model: nn.Module) -> nn.Module:
    """Tiny random models start with zero biases; DoRA must leave a real bias unscaled."""
    generator = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith("bias"):
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.5)
    return model


def test_gpt2_conv1d_dora_with_biases_matches_peft(tmp_path):
    """Conv1D stores W as [in, out] (PEFT's fan_in_fan_out) and has biases, which DoRA leaves unscaled."""
    specs = [
        AdapterSpec("gpt-dora-qkv-r8", 8, ["c_attn"], dora=True),
        AdapterSpec("gpt-dora-fc-proj-r4", 4, ["c_fc", "c_proj"], dora=True),
        AdapterSpec("gpt-lora-qkv-r16", 16, ["c_attn"], dora=False),
    ]
    adapters = save_peft_adapters(_random_biases(tiny_gpt2(seed=0)), specs, tmp_path)
    engine = _engine(adapters, _random_biases(tiny_gpt2(seed=0)), kv_cache_bytes=1 << 20)
    submitted = submit_mixed(engine, 8, seed=8, names=[None, *[spec.name for spec in specs]])
    engine.run_until_idle()
    _assert_matches_peft(adapters, submitted)
    engine.close()


def test_qwen2_dora_with_qkv_biases_matches_peft(tmp_path):
    from tests.inference.factories import tiny_causal_lm

    specs = [
        AdapterSpec("qwen-dora-attn-r8", 8, ATTENTION, dora=True),
        AdapterSpec("qwen-lora-mlp-r4", 4, MLP, dora=False),
    ]
    adapters = save_peft_adapters(_random_biases(tiny_causal_lm("qwen2")), specs, tmp_path)
    engine = _engine(adapters, _random_biases(tiny_causal_lm("qwen2")), kv_cache_bytes=1 << 20)
    submitted = submit_mixed(engine, 6, seed=10, names=[None, *[spec.name for spec in specs]])
    engine.run_until_idle()
    _assert_matches_peft(adapters, submitted)
    engine.close()


# --- the batched layer against the plain formula ------------------------------------------------------------
def _dora_layer(ranks_and_dora: list[tuple[int, bool]], page_rows: int = 8, bias: bool = True):
    """One Linear with bias wrapped, adapters written as the cache writes them (DoRA factors at their
    first page), and per adapter what the plain formula needs."""
    torch.manual_seed(0)
    base = nn.Linear(32, 48, bias=bias)
    num_rows = sum(-(-r // page_rows) * page_rows for r, _ in ranks_and_dora) + page_rows
    context = LoraContext()
    layer = MultiLoraLayer(base, 0, num_rows, context, page_rows=page_rows)
    lora = MultiLoraModel({"proj": layer}, context, num_rows)
    adapters, plain = [], []
    next_row = page_rows
    for index, (rank, dora) in enumerate(ranks_and_dora):
        padded = -(-rank // page_rows) * page_rows
        rows = torch.arange(next_row, next_row + padded)
        a_weight, bt_weight = torch.randn(rank, 32) * 0.3, torch.randn(rank, 48) * 0.3
        magnitude = (1 + 0.5 * torch.rand(48)) * torch.linalg.norm(base.weight, dim=1) if dora else None
        slot = next_row // page_rows if dora else None
        scales = lora.dora_scales({"proj": (a_weight, bt_weight)}, {"proj": magnitude}) if dora else None
        lora.write_rows(rows, {"proj": (a_weight, bt_weight)}, scales, slot)
        adapters.append(
            ResidentAdapter(("a", index), rank, rows, next_row, frozenset({0}), page_rows, dora_slot=slot)
        )
        plain.append((a_weight, bt_weight, magnitude))
        next_row += padded
    return layer, context, adapters, plain


def _reference(layer: MultiLoraLayer, x: torch.Tensor, counts, choice, plain) -> torch.Tensor:
    base = layer.base
    expected = []
    start = 0
    for count, index in zip(counts, choice, strict=True):
        tokens = x[start : start + count]
        if index is None:
            expected.append(base(tokens))
        else:
            a_weight, bt_weight, magnitude = plain[index]
            if magnitude is None:
                expected.append(base(tokens) + tokens @ a_weight.T @ bt_weight)
            else:
                expected.append(
                    dora_reference(tokens, base.weight, base.bias, a_weight, bt_weight, magnitude)
                )
        start += count
    return torch.cat(expected)


@pytest.mark.parametrize("path", ["grouped", "segmented", None])
@pytest.mark.parametrize("bias", [True, False])
def test_the_batched_dora_path_equals_the_plain_formula(path, bias):
    layer, context, adapters, plain = _dora_layer(
        [(4, True), (8, False), (20, True), (64, True), (12, False)], bias=bias
    )
    counts = [3, 1, 5, 2, 1, 4, 9, 1, 1]
    choice = [0, None, 2, 3, 0, 1, 4, 2, 3]
    x = torch.randn(sum(counts), 32)
    limits = {} if path is None else limits_forcing(path, counts)
    context.batch = LoraBatch.build(
        counts, [None if c is None else adapters[c] for c in choice], x.device, **limits
    )
    with torch.no_grad():
        got = layer(x.unsqueeze(0))[0]
        expected = _reference(layer, x, counts, choice, plain)
    assert (got - expected).abs().max() < 1e-4


def test_a_dora_adapter_leaves_layers_it_does_not_target_alone():
    """Its factor row in a layer it does not target is ones, even where another DoRA adapter used it."""
    layer, context, adapters, _ = _dora_layer([(8, True)])
    slot = adapters[0].dora_slot
    assert not torch.equal(layer.dora_scale[slot], torch.ones(48))
    lora = MultiLoraModel({"proj": layer}, context, layer.A_pool.shape[0])
    lora.write_rows(adapters[0].rows, {}, {}, slot)  # a DoRA adapter of other layers takes the pages
    assert torch.equal(layer.dora_scale[slot], torch.ones(48))
    untargeted = ResidentAdapter(("b", 0), 8, adapters[0].rows, adapters[0].row_start, frozenset(), 8, slot)
    context.batch = LoraBatch.build([3], [untargeted], torch.device("cpu"))
    x = torch.randn(1, 3, 32)
    with torch.no_grad():
        assert torch.equal(layer(x), layer.base(x))


def test_the_precomputed_factor_is_peft_weight_norm(llama_dora):
    """What the cache precomputes per module equals PEFT's m / get_weight_norm(W, B A, s)."""
    model = llama_dora.peft_model
    layer = model.base_model.model.model.layers[1].mlp.down_proj
    name = "dora-mlp-r8"
    shapes = {"model.layers.1.mlp.down_proj": (128, 64)}
    shapes |= {f"model.layers.{i}.mlp.{p}": (64, 128) for i in range(2) for p in ("gate_proj", "up_proj")}
    shapes |= {"model.layers.0.mlp.down_proj": (128, 64)}
    weights = read_adapter(name, llama_dora.paths[name], shapes)
    a_weight, bt_weight = weights.weights["model.layers.1.mlp.down_proj"]
    ours = dora_scale(
        layer.base_layer.weight, a_weight, bt_weight, weights.magnitudes["model.layers.1.mlp.down_proj"]
    )
    dora = layer.lora_magnitude_vector[name]
    with torch.no_grad():
        norm = dora.get_weight_norm(
            layer.base_layer.weight,
            layer.lora_B[name].weight @ layer.lora_A[name].weight,
            layer.scaling[name],
        )
        assert torch.allclose(ours, dora.weight / norm, atol=1e-6)


# --- merges and servability ------------------------------------------------------------------------------
def test_merging_a_dora_adapter_is_refused_with_the_reason(llama_dora):
    engine = _engine(llama_dora, tiny_llama(seed=0))
    handle = engine.submit(
        Request(
            prompt_token_ids=[1, 2, 3],
            adapters=[("dora-qv-r4", 0.5), ("lora-all-r8", 0.5)],
            sampling=SamplingParams(max_tokens=2),
        )
    )
    with pytest.raises(AdapterIncompatible, match="'dora-qv-r4' is a DoRA adapter, and merges of DoRA"):
        handle.result(timeout=5)
    lora_only = engine.submit(
        Request(
            prompt_token_ids=[1, 2, 3],
            adapters=[("lora-gate-down-r12", 0.5), ("lora-all-r8", 0.5)],
            sampling=SamplingParams(max_tokens=2),
        )
    )
    engine.run_until_idle()
    assert lora_only.result(timeout=5).token_ids
    engine.close()
    shapes = {path: (layer.in_features, layer.out_features) for path, layer in engine.lora.layers.items()}
    parts = [
        (read_adapter(name, llama_dora.paths[name], shapes), 1.0) for name in ("dora-qv-r4", "lora-all-r8")
    ]
    with pytest.raises(AdapterIncompatible, match="merges of DoRA adapters are not supported"):
        merge_adapters("m", parts, "linear", 1.0, 64)


def test_servability_is_checked_without_the_base_model(llama_dora, tmp_path):
    dora = tmp_path / "dora"
    shutil.copytree(llama_dora.paths["dora-qv-r4"], dora)
    assert servability_problem(dora) is None
    assert servability_problem(llama_dora.paths["lora-all-r8"], max_rank=8) is None
    assert "rank 8" in servability_problem(llama_dora.paths["lora-all-r8"], max_rank=4)
    assert "does not serve" in servability_problem(
        dora, module_shapes={"model.layers.0.mlp.up_proj": (64, 128)}
    )

    weights_file = dora / "adapter_model.safetensors"
    tensors = load_file(str(weights_file))
    save_file({k: v for k, v in tensors.items() if "magnitude" not in k}, str(weights_file))
    assert "without the magnitude" in servability_problem(dora)

    save_file(tensors, str(weights_file))
    config = json.loads((dora / "adapter_config.json").read_text())
    (dora / "adapter_config.json").write_text(json.dumps({**config, "use_dora": False}))
    assert "does not say use_dora" in servability_problem(dora)

    (dora / "adapter_config.json").write_text(json.dumps({**config, "peft_type": "IA3"}))
    assert "only LoRA adapters" in servability_problem(dora)
    assert "does not exist" in servability_problem(tmp_path / "missing")
