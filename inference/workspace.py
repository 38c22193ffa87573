"""Reusable scratch memory for per-step gathers (LoRA rows, KV blocks).

Gathering a few MB per layer per step into fresh tensors costs more than the gather itself on CPU:
large allocations come from fresh mmap'd pages, and first-touch page faults dominate (measured: a
2 MB `index_select` takes 280 us into new memory vs 32 us into reused memory). Layers run one after
another, so one growing buffer per role is enough.
"""

from __future__ import annotations

import torch


class Workspace:
    """A flat buffer handing out contiguous views; grows (never shrinks) when a step needs more."""

    def __init__(self) -> None:
        self._buffer: torch.Tensor | None = None

    def take(self, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        size = 1
        for dim in shape:
            size *= dim
        buffer = self._buffer
        if (
            buffer is None
            or buffer.numel() < size
            or buffer.dtype != like.dtype
            or buffer.device != like.device
        ):
            buffer = torch.empty(max(size, 1024), dtype=like.dtype, device=like.device)
            self._buffer = buffer
        return buffer[:size].view(shape)
