"""The tiered adapter cache: byte budgets hold, pinned adapters stay, new versions replace old ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from inference.adapter_cache import AdapterCache
from inference.adapter_weights import AdapterWeights
from inference.errors import AdapterIncompatible, AdapterNotFound
from inference.lora_layers import LoraContext, MultiLoraLayer, MultiLoraModel

RANKS = [4, 8, 16, 32, 64, 8, 16, 4, 64, 32, 8, 16]
BYTES_PER_RANK_ROW = (32 + 48) * 4


@pytest.fixture(scope="module")
def adapter_dirs(tmp_path_factory) -> list[Path]:
    """Directories that pass the config check; the weights come from a fake loader (no disk parsing)."""
    root = tmp_path_factory.mktemp("cache-adapters")
    dirs = []
    for index in range(len(RANKS)):
        directory = root / f"adapter-{index}"
        directory.mkdir()
        (directory / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": RANKS[index]}))
        (directory / "adapter_model.safetensors").write_bytes(b"")
        dirs.append(directory)
    return dirs


def _fake_loader(name: str, path: Path) -> AdapterWeights:
    rank = RANKS[int(name.split("-")[1])]
    fill = float(path.stat().st_mtime_ns % 1000)  # differs between versions written at different times
    weights = {"proj": (torch.full((rank, 32), fill), torch.ones(rank, 48))}
    return AdapterWeights(name=name, version=str(fill), rank=rank, weights=weights, base_model=None)


def _cache(host_budget: int, pages: int, loader=_fake_loader) -> AdapterCache:
    context = LoraContext()
    rows = (pages + 1) * 8
    layer = MultiLoraLayer(nn.Linear(32, 48), 0, rows, context, page_rows=8)
    lora = MultiLoraModel({"proj": layer}, context, rows)
    max_rank = min(64, pages * 8)
    return AdapterCache(lora, host_budget_bytes=host_budget, page_rows=8, max_rank=max_rank, loader=loader)


def _acquire(cache: AdapterCache, key):
    resident = cache.acquire(key)
    if resident is None:
        cache.wait_idle()
        resident = cache.acquire(key)
    return resident


def _check_invariants(cache: AdapterCache) -> None:
    assert cache.host_bytes() <= cache.host_budget_bytes
    used = [page for entry in cache._device.values() for page in entry.pages]
    assert len(used) == len(set(used)), "a device page is owned twice"
    assert not set(used) & set(cache._free_pages), "a page is both used and free"
    assert len(used) + len(cache._free_pages) == cache.num_pages - 1
    for key in cache._pinned:
        assert key in cache._host, f"pinned {key} was evicted from host memory"
        assert key in cache._device, f"pinned {key} was evicted from the device"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    operations=st.lists(
        st.tuples(st.sampled_from(["acquire", "release", "replace", "remove", "pin"]), st.integers(0, 11)),
        max_size=40,
    )
)
def test_budgets_are_never_exceeded_and_pinned_adapters_never_evicted(adapter_dirs, operations):
    cache = _cache(host_budget=3 * 64 * BYTES_PER_RANK_ROW, pages=20)
    names = [f"adapter-{i}" for i in range(len(RANKS))]
    for name, directory in zip(names, adapter_dirs, strict=True):
        cache.register(name, directory)
    held = []
    pinned = 0
    for operation, index in operations:
        name = names[index]
        if operation == "acquire" and name in cache.registered():
            resident = _acquire(cache, cache.resolve(name))
            if resident is not None:
                held.append(resident)
        elif operation == "release" and held:
            cache.release(held.pop(index % len(held)))
        elif operation == "replace":
            cache.register(name, adapter_dirs[index])
        elif operation == "remove" and name in cache.registered():
            cache.remove(name)
        elif operation == "pin" and pinned < 1 and RANKS[index] <= 16:
            cache.register(name, adapter_dirs[index], pin=True)
            pinned += 1
        _check_invariants(cache)
    for resident in held:
        cache.release(resident)
    _check_invariants(cache)
    cache.close()


def test_device_budget_is_in_rank_rows_not_adapter_count(adapter_dirs):
    cache = _cache(host_budget=1 << 20, pages=8)  # 8 pages of 8 rows
    for index in (0, 1, 4):  # ranks 4, 8, 64
        cache.register(f"adapter-{index}", adapter_dirs[index])
    small = [_acquire(cache, cache.resolve(f"adapter-{i}")) for i in (0, 1)]
    assert cache.device_pages_used() == 2  # rank 4 and rank 8 take one page each
    assert _acquire(cache, cache.resolve("adapter-4")) is None  # rank 64 needs 8 pages; 6 are free
    for resident in small:
        cache.release(resident)
    big = _acquire(cache, cache.resolve("adapter-4"))
    assert big is not None
    assert cache.device_pages_used() == 8
    assert cache.stats()["evictions"]["device:lru"] == 2


def test_least_recently_used_adapter_is_evicted_first(adapter_dirs):
    cache = _cache(host_budget=1 << 20, pages=2)
    for index in (0, 1, 5):  # one page each
        cache.register(f"adapter-{index}", adapter_dirs[index])
    for index in (0, 1, 0):
        cache.release(_acquire(cache, cache.resolve(f"adapter-{index}")))
    cache.release(_acquire(cache, cache.resolve("adapter-5")))  # evicts adapter-1, used longest ago
    assert {key[0] for key in cache._device} == {"adapter-0", "adapter-5"}


def test_a_replaced_adapter_is_served_from_its_new_version_only(adapter_dirs):
    cache = _cache(host_budget=1 << 20, pages=4)
    cache.register("adapter-1", adapter_dirs[1])
    old = _acquire(cache, cache.resolve("adapter-1"))
    old_rows = old.rows.clone()
    cache.register("adapter-1", adapter_dirs[1])  # a new generation, even for the same path
    new = _acquire(cache, cache.resolve("adapter-1"))
    assert new.key != old.key
    assert not set(new.rows.tolist()) & set(old_rows.tolist()), "the running request's rows were overwritten"
    cache.release(old)  # the old version's rows are freed once its last request is done
    assert cache.device_pages_used() == 1
    assert cache.stats()["evictions"]["device:replaced"] == 1


def test_removed_or_unknown_adapters_are_not_found(adapter_dirs):
    cache = _cache(host_budget=1 << 20, pages=4)
    cache.register("adapter-0", adapter_dirs[0])
    cache.remove("adapter-0")
    with pytest.raises(AdapterNotFound):
        cache.resolve("adapter-0")
    with pytest.raises(AdapterNotFound):
        cache.remove("never-registered")


def test_adapters_above_max_rank_are_refused_with_the_reason(adapter_dirs):
    context = LoraContext()
    layer = MultiLoraLayer(nn.Linear(32, 48), 0, 80, context)
    cache = AdapterCache(
        MultiLoraModel({"proj": layer}, context, 80),
        host_budget_bytes=1 << 20,
        max_rank=32,
        loader=_fake_loader,
    )
    cache.register("adapter-4", adapter_dirs[4])  # rank 64
    key = cache.resolve("adapter-4")
    assert cache.acquire(key) is None
    cache.wait_idle()
    with pytest.raises(AdapterIncompatible, match="max_rank=32"):
        cache.acquire(key)
