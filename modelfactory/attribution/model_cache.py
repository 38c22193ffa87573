"""The models an attribution worker keeps loaded: one base per source, a few adapters on it.

Attribution needs gradients, which the serving engine never computes (it has no autograd graph and
never should), so the worker holds its own PEFT model. Loading a base is the expensive part, so it
is loaded once per process; adapters are small and are added to the same `PeftModel` by name and
dropped least-recently-used, the way the engine treats them, so a worker attributing answers of
many adapters does not grow without bound.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import torch

MAX_ADAPTERS = 8


@dataclass
class LoadedBase:
    source: str
    model: torch.nn.Module  # a PeftModel once the first adapter is attached
    tokenizer: object
    adapters: OrderedDict[str, str]  # adapter key -> path, least recently used first


_bases: dict[str, LoadedBase] = {}
_lock = threading.RLock()


def _load_base(source: str) -> LoadedBase:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32)
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return LoadedBase(source, model, AutoTokenizer.from_pretrained(source), OrderedDict())


def base_tokenizer(source: str):
    with _lock:
        if source not in _bases:
            _bases[source] = _load_base(source)
        return _bases[source].tokenizer


def adapter_model(source: str, key: str, path: str):
    """The PEFT model of `source` with adapter `key` (loaded from `path` if needed) active.

    Callers hold `model_lock()` while they use the model: the active adapter is process-wide state.
    """
    from peft import PeftModel

    with _lock:
        if source not in _bases:
            _bases[source] = _load_base(source)
        loaded = _bases[source]
        if key in loaded.adapters:
            loaded.adapters.move_to_end(key)
        else:
            if isinstance(loaded.model, PeftModel):
                loaded.model.load_adapter(path, adapter_name=key, is_trainable=False)
            else:
                loaded.model = PeftModel.from_pretrained(loaded.model, path, adapter_name=key)
            loaded.adapters[key] = path
            while len(loaded.adapters) > MAX_ADAPTERS:
                oldest, _ = loaded.adapters.popitem(last=False)
                loaded.model.delete_adapter(oldest)
        loaded.model.set_adapter(key)
        loaded.model.eval()
        return loaded.model, loaded.tokenizer


def model_lock() -> threading.RLock:
    return _lock


def clear() -> None:
    """Forget every loaded model (tests; a worker after its base model was re-registered)."""
    with _lock:
        _bases.clear()
