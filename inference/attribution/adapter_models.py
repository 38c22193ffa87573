"""One PEFT model of a base with a few adapters attached by name, least recently used dropped.

Attribution needs gradients, which the serving engine never computes, so an attribution worker keeps
its own PEFT model. Loading the base is the expensive part and happens once; adapters are small and
are added to the same `PeftModel` by name, so a worker attributing answers of many adapters stays
within `limit` adapters' memory. Not thread-safe: callers serialise use (the active adapter is state).
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

MAX_ADAPTERS = 8


class AdapterModels:
    def __init__(self, base: nn.Module, limit: int = MAX_ADAPTERS) -> None:
        self.model = base
        self.limit = limit
        self.adapters: OrderedDict[str, str] = OrderedDict()  # key -> path, least recently used first
        self.loads = 0

    def get(self, key: str, path: str):
        """The PEFT model with adapter `key` (loaded from `path` the first time) active, in eval mode."""
        from peft import PeftModel

        if key in self.adapters:
            self.adapters.move_to_end(key)
        else:
            if isinstance(self.model, PeftModel):
                self.model.load_adapter(path, adapter_name=key, is_trainable=False)
            else:
                self.model = PeftModel.from_pretrained(self.model, path, adapter_name=key)
            self.adapters[key] = path
            self.loads += 1
            while len(self.adapters) > self.limit:
                oldest, _ = self.adapters.popitem(last=False)
                self.model.delete_adapter(oldest)
        self.model.set_adapter(key)
        self.model.eval()
        return self.model
