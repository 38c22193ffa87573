"""Reading PEFT adapters: what is accepted, and the clear error for everything that is not."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from inference.adapter_weights import read_adapter
from inference.errors import AdapterCorrupt, AdapterIncompatible, AdapterNotFound
from tests.inference.factories import AdapterSpec, save_peft_adapters, tiny_llama

SHAPES = {
    f"model.layers.{i}.self_attn.{p}": (64, 64 if p in ("q_proj", "o_proj") else 32)
    for i in range(2)
    for p in ("q_proj", "k_proj", "v_proj", "o_proj")
}


@pytest.fixture
def saved(llama_adapters, tmp_path):
    target = tmp_path / "adapter"
    shutil.copytree(llama_adapters.paths["qv-r4"], target)
    return target


def test_a_peft_adapter_is_read_with_its_scaling_folded_in(llama_adapters):
    weights = read_adapter("qv-r4", llama_adapters.paths["qv-r4"], SHAPES)
    assert weights.rank == 4
    assert set(weights.weights) == {
        f"model.layers.{i}.self_attn.{p}" for i in range(2) for p in ("q_proj", "v_proj")
    }
    peft_layer = llama_adapters.peft_model.base_model.model.model.layers[0].self_attn.q_proj
    a_weight, bt_weight = weights.weights["model.layers.0.self_attn.q_proj"]
    expected = (
        peft_layer.lora_B["qv-r4"].weight @ peft_layer.lora_A["qv-r4"].weight * peft_layer.scaling["qv-r4"]
    )
    assert torch.allclose(bt_weight.T @ a_weight, expected, atol=1e-6)


def test_the_version_changes_when_the_weights_change(saved):
    before = read_adapter("a", saved, SHAPES).version
    config = json.loads((saved / "adapter_config.json").read_text())
    config["lora_alpha"] = 99
    (saved / "adapter_config.json").write_text(json.dumps(config))
    assert read_adapter("a", saved, SHAPES).version != before


def test_a_missing_directory_is_not_found(tmp_path):
    with pytest.raises(AdapterNotFound, match="does not exist"):
        read_adapter("ghost", tmp_path / "nope", SHAPES)


def test_a_pickled_bin_adapter_is_refused_with_how_to_fix_it(saved):
    (saved / "adapter_model.safetensors").rename(saved / "adapter_model.bin")
    with pytest.raises(AdapterIncompatible, match="safe_serialization=True"):
        read_adapter("pickled", saved, SHAPES)


def test_truncated_weights_are_corrupt(saved):
    data = (saved / "adapter_model.safetensors").read_bytes()
    (saved / "adapter_model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(AdapterCorrupt):
        read_adapter("truncated", saved, SHAPES)


def test_an_unreadable_config_is_corrupt(saved):
    (saved / "adapter_config.json").write_text("{not json")
    with pytest.raises(AdapterCorrupt, match="not valid JSON"):
        read_adapter("bad-json", saved, SHAPES)


def test_an_adapter_trained_for_another_base_is_incompatible(tmp_path):
    other = save_peft_adapters(tiny_llama(hidden=32), [AdapterSpec("small", 4, ["q_proj"])], tmp_path)
    with pytest.raises(AdapterIncompatible, match="another base model"):
        read_adapter("small", other.paths["small"], SHAPES)


def test_a_dora_config_without_magnitudes_is_corrupt_and_saved_modules_are_refused(saved):
    config = json.loads((saved / "adapter_config.json").read_text())
    (saved / "adapter_config.json").write_text(json.dumps({**config, "use_dora": True}))
    with pytest.raises(AdapterCorrupt, match=r"DoRA adapter .* without the magnitude"):
        read_adapter("dora", saved, SHAPES)
    (saved / "adapter_config.json").write_text(json.dumps({**config, "modules_to_save": ["lm_head"]}))
    with pytest.raises(AdapterIncompatible, match="modules_to_save"):
        read_adapter("saves-modules", saved, SHAPES)
