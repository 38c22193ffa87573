"""Fixtures for the engine's tests: tiny random models and PEFT-made adapters, no Django involved."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from inference.engine import Engine
from tests.inference.factories import ATTENTION, MLP, AdapterSet, AdapterSpec, save_peft_adapters, tiny_llama

torch.set_num_threads(1)

LLAMA_ADAPTERS = [
    AdapterSpec("qv-r4", 4, ["q_proj", "v_proj"]),
    AdapterSpec("mlp-r8", 8, MLP),
    AdapterSpec("all-r16", 16, ATTENTION + MLP),
    AdapterSpec("ko-r32", 32, ["k_proj", "o_proj"], alpha=64),
    AdapterSpec("all-r64-rslora", 64, ATTENTION + MLP, use_rslora=True),
    AdapterSpec("gate-down-r12", 12, ["gate_proj", "down_proj"], alpha=8),
]


@pytest.fixture(scope="session")
def llama_adapters(tmp_path_factory: pytest.TempPathFactory) -> AdapterSet:
    return save_peft_adapters(tiny_llama(seed=0), LLAMA_ADAPTERS, tmp_path_factory.mktemp("llama-adapters"))


@pytest.fixture
def engine(llama_adapters: AdapterSet) -> Engine:
    """A fresh engine on the same random base the adapters were made for, with all of them registered."""
    engine = Engine(tiny_llama(seed=0), kv_cache_bytes=4 << 20, block_size=8)
    for name, path in llama_adapters.paths.items():
        engine.register_adapter(name, path)
    yield engine
    engine.close()


def random_prompt(generator: torch.Generator, low: int = 1, high: int = 24, vocab: int = 256) -> list[int]:
    length = int(torch.randint(low, high + 1, (1,), generator=generator))
    return torch.randint(0, vocab, (length,), generator=generator).tolist()


def adapter_dir(adapters: AdapterSet, name: str) -> Path:
    return adapters.paths[name]
