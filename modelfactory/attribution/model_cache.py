"""The models an attribution worker process keeps loaded: one base per source, a few adapters on each.

The LRU of adapters on a base is `inference.attribution.adapter_models.AdapterModels` (the engine
benchmark's attribution worker uses the same); this module adds the per-process registry, the base's
tokenizer and the lock that serialises use of the shared model.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import torch

from inference.attribution.adapter_models import AdapterModels


@dataclass
class LoadedBase:
    models: AdapterModels
    tokenizer: object


_bases: dict[str, LoadedBase] = {}
_lock = threading.RLock()


def _loaded(source: str) -> LoadedBase:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if source not in _bases:
        model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32)
        model.eval()
        for parameter in model.parameters():
            parameter.requires_grad_(False)
        _bases[source] = LoadedBase(AdapterModels(model), AutoTokenizer.from_pretrained(source))
    return _bases[source]


def adapter_model(source: str, key: str, path: str):
    """The PEFT model of `source` with adapter `key` (loaded from `path` if needed) active, and the
    base's tokenizer. Callers hold `model_lock()` while they use the model."""
    with _lock:
        loaded = _loaded(source)
        return loaded.models.get(key, path), loaded.tokenizer


def model_lock() -> threading.RLock:
    return _lock


def clear() -> None:
    """Forget every loaded model (tests; a worker after its base model was re-registered)."""
    with _lock:
        _bases.clear()
