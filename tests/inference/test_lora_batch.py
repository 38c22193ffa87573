"""The step's adapter layout: tokens grouped by adapter in order of first use, and the limits that decide
which adapters' tokens are bagged (few tokens) and which get their own matmuls (many)."""

from __future__ import annotations

import torch

from inference.lora_batch import BAG_MAX_TOKENS, LoraBatch, group_by_adapter
from inference.lora_layers import ResidentAdapter
from tests.inference.factories import limits_forcing

CPU = torch.device("cpu")


def _adapter(index: int, rank: int = 8, page_rows: int = 8) -> ResidentAdapter:
    start = (index + 1) * 64
    rows = torch.arange(start, start + -(-rank // page_rows) * page_rows)
    return ResidentAdapter(("a", index), rank, rows, start, frozenset({index}), page_rows)


def test_tokens_are_grouped_by_adapter_in_order_of_first_use_and_base_sequences_in_none():
    first, second = _adapter(0), _adapter(1)
    groups = group_by_adapter([2, 3, 1, 4], [second, None, first, second])
    assert [(group.adapter.key, group.spans) for group in groups] == [
        (second.key, ((0, 2), (6, 10))),
        (first.key, ((5, 6),)),
    ]
    assert [group.num_tokens for group in groups] == [6, 1]
    assert groups[0].tokens() == [0, 1, 6, 7, 8, 9]


def test_the_limits_send_every_adapter_token_down_one_path():
    adapters = [_adapter(0), _adapter(1, rank=20), _adapter(2)]
    counts = [3, 1, 12, 2]
    used = [adapters[0], None, adapters[1], adapters[2]]
    grouped = LoraBatch.build(counts, used, CPU, **limits_forcing("grouped", counts))
    assert grouped.num_bagged == grouped.num_lora_tokens == 17
    assert grouped.num_bagged_segments == len(grouped.segments) == 3
    segmented = LoraBatch.build(counts, used, CPU, **limits_forcing("segmented", counts))
    assert segmented.num_bagged == 0
    assert segmented.bag_rows is None
    assert [(s.start, s.end) for s in segmented.segments] == [(0, 3), (3, 15), (15, 17)]
    assert segmented.token_idx.tolist() == [0, 1, 2, *range(4, 18)]  # the base sequence's token 3 in none


def test_by_default_few_tokens_are_bagged_but_not_a_lone_token():
    adapters = [_adapter(0), _adapter(1)]
    lone = LoraBatch.build([1, BAG_MAX_TOKENS + 1], adapters, CPU)
    assert lone.num_bagged == 0  # one bagged token alone is not worth the bags
    pair = LoraBatch.build([1, 1, BAG_MAX_TOKENS + 1], [adapters[0], adapters[0], adapters[1]], CPU)
    assert pair.num_bagged == 2
    assert pair.num_bagged_segments == 1
