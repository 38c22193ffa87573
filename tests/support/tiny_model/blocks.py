"""Split documents into train/held-out sets and pack them into fixed-length token blocks.

Packing (concatenating documents and cutting every ``block_size`` tokens) wastes no compute on
padding, which matters when every CPU second counts. The held-out split is made on *documents*,
before packing, so that no held-out text leaks into training through a shared block -- the
perplexity drop we report must be earned on text the model never saw.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import torch


def split_documents(
    documents: Sequence[str], *, held_out_fraction: float, seed: int
) -> tuple[list[str], list[str]]:
    """Shuffle with ``seed`` and hold out ``held_out_fraction`` of the documents (at least one)."""
    if len(documents) < 2:
        raise ValueError("need at least two documents to hold one out for evaluation")
    shuffled = list(documents)
    random.Random(seed).shuffle(shuffled)
    held_out_count = min(len(shuffled) - 1, max(1, round(len(shuffled) * held_out_fraction)))
    return shuffled[held_out_count:], shuffled[:held_out_count]


def pack_into_blocks(token_ids: Sequence[Sequence[int]], block_size: int) -> torch.Tensor:
    """Concatenate tokenized documents and cut them into ``(n_blocks, block_size)`` rows.

    The trailing remainder is dropped, except when the whole stream is shorter than one block:
    then it becomes a single shorter block, so that a tiny held-out set still yields a number.
    """
    stream = [token for document in token_ids for token in document]
    if len(stream) < 2:
        raise ValueError("not enough tokens to form a block")
    if len(stream) < block_size:
        return torch.tensor([stream], dtype=torch.long)
    n_blocks = len(stream) // block_size
    return torch.tensor(stream[: n_blocks * block_size], dtype=torch.long).view(n_blocks, block_size)
