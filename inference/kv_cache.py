"""The paged KV-cache: fixed-size blocks of key/value slots, handed to sequences as they grow.

Memory is one tensor per layer for keys and one for values; a sequence owns a list of blocks (its block
table), so admission is decided by free blocks, not by a fixed batch size, and a finished sequence
returns its blocks at once for the next request. Keys are stored transposed within each block,
`[num_blocks, kv_heads, head_dim, block_size]`, values as `[num_blocks, block_size, kv_heads, head_dim]`:
the layouts that let decode attention read both in place (see `paged_attention.py`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class KVShape:
    """What one token's keys and values look like in every layer of this model."""

    num_layers: int
    num_kv_heads: int
    head_dim: int

    @staticmethod
    def of(config) -> KVShape:
        """Read it from a Hugging Face config (Llama/Qwen2/Mistral/Gemma names, or GPT-2's n_*)."""
        text = config.get_text_config() if hasattr(config, "get_text_config") else config
        layers = getattr(text, "num_hidden_layers", None) or text.n_layer
        heads = getattr(text, "num_attention_heads", None) or text.n_head
        kv_heads = getattr(text, "num_key_value_heads", None) or heads
        hidden = getattr(text, "hidden_size", None) or text.n_embd
        head_dim = getattr(text, "head_dim", None) or hidden // heads
        return KVShape(layers, kv_heads, head_dim)

    def bytes_per_token(self, dtype: torch.dtype) -> int:
        return (
            2
            * self.num_layers
            * self.num_kv_heads
            * self.head_dim
            * torch.empty((), dtype=dtype).element_size()
        )


def slot(block, position, block_size: int):
    """The flat cache slot of the token at `position`, given the block holding it (ints or tensors)."""
    return block * block_size + position % block_size


class BlockAllocator:
    """Free-list of block ids; block 0 is never handed out (padding in gathers may point at it)."""

    def __init__(self, num_blocks: int) -> None:
        self.num_blocks = num_blocks
        self._free = list(range(num_blocks - 1, 0, -1))

    @property
    def num_free(self) -> int:
        return len(self._free)

    def allocate(self, count: int) -> list[int] | None:
        if count > len(self._free):
            return None
        return [self._free.pop() for _ in range(count)]

    def free(self, blocks: list[int]) -> None:
        self._free.extend(reversed(blocks))


class PagedKVCache:
    """Key/value storage of every layer plus the allocator that hands its blocks out."""

    def __init__(
        self, shape: KVShape, *, num_blocks: int, block_size: int, dtype: torch.dtype, device: torch.device
    ) -> None:
        if num_blocks < 2:
            raise ValueError("the KV-cache needs at least 2 blocks (block 0 is reserved)")
        self.shape = shape
        self.block_size = block_size
        self.allocator = BlockAllocator(num_blocks)
        heads, dim = shape.num_kv_heads, shape.head_dim
        self.keys = [
            torch.zeros(num_blocks, heads, dim, block_size, dtype=dtype, device=device)
            for _ in range(shape.num_layers)
        ]
        self.values = [
            torch.zeros(num_blocks, block_size, heads, dim, dtype=dtype, device=device)
            for _ in range(shape.num_layers)
        ]

    @staticmethod
    def blocks_for_budget(shape: KVShape, budget_bytes: int, block_size: int, dtype: torch.dtype) -> int:
        return max(2, budget_bytes // (shape.bytes_per_token(dtype) * block_size))

    def blocks_needed(self, num_tokens: int) -> int:
        return math.ceil(num_tokens / self.block_size)
