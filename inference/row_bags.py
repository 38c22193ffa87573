"""`embedding_bag` over runs of consecutive table rows: how the engine reads weights and keys in place.

Both batched kernels of a step are weighted sums of rows read where they lie: the LoRA A side (one bag
of `in` rows per adapter page of the page-transposed A pool) and the decode attention scores (one bag of
`head_dim` rows per key block of the block-transposed key cache). Each bag is a run of consecutive rows.
"""

from __future__ import annotations

import torch


def consecutive_row_bags(first_rows: torch.Tensor, run_length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(indices, offsets) for `F.embedding_bag`: bag i reads rows first_rows[i] .. + run_length - 1."""
    device = first_rows.device
    indices = (first_rows.reshape(-1, 1) + torch.arange(run_length, device=device)).view(-1)
    offsets = torch.arange(first_rows.numel(), device=device) * run_length
    return indices, offsets
