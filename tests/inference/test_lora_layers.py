"""The batched LoRA kernel adds exactly each token's own adapter delta, whichever way it groups tokens."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from inference.lora_batch import BAG_MAX_TOKENS, LoraBatch
from inference.lora_layers import (
    LoraContext,
    MultiLoraLayer,
    MultiLoraModel,
    ResidentAdapter,
)
from tests.inference.factories import limits_forcing


def _layer_with_adapters(ranks: list[int], page_rows: int = 8):
    torch.manual_seed(0)
    base = nn.Linear(32, 48)
    rows_needed = sum(-(-r // page_rows) * page_rows for r in ranks) + page_rows
    context = LoraContext()
    layer = MultiLoraLayer(base, 0, rows_needed, context, page_rows=page_rows)
    lora = MultiLoraModel({"proj": layer}, context, rows_needed)
    adapters, dense = [], []
    next_row = page_rows
    for index, rank in enumerate(ranks):
        padded = -(-rank // page_rows) * page_rows
        rows = torch.arange(next_row, next_row + padded)
        a_weight, bt_weight = torch.randn(rank, 32), torch.randn(rank, 48)
        lora.write_rows(rows, {"proj": (a_weight, bt_weight)})
        adapters.append(ResidentAdapter(("a", index), rank, rows, next_row, frozenset({0}), page_rows))
        dense.append(bt_weight.T @ a_weight)  # [out, in]
        next_row += padded
    return layer, context, adapters, dense


def _output_and_reference(layer, x, counts, choice, dense):
    """The layer's output, and the base output plus each token's own dense delta (none for base tokens)."""
    with torch.no_grad():
        got = layer(x)[0]
        expected = layer.base(x)[0]
    start = 0
    for count, c in zip(counts, choice, strict=True):
        if c is not None:
            expected[start : start + count] += x[0, start : start + count] @ dense[c].T
        start += count
    return got, expected


@pytest.mark.parametrize("path", ["grouped", "segmented"])
def test_each_token_gets_its_own_adapter_delta_and_base_tokens_none(path):
    layer, context, adapters, dense = _layer_with_adapters([4, 8, 20, 64])
    counts = [3, 1, 5, 2, 1, 4]
    choice = [0, None, 2, 3, 0, 1]
    x = torch.randn(1, sum(counts), 32)
    context.batch = LoraBatch.build(
        counts, [None if c is None else adapters[c] for c in choice], x.device, **limits_forcing(path, counts)
    )
    got, expected = _output_and_reference(layer, x, counts, choice, dense)
    assert (got - expected).abs().max() < 1e-4


def test_a_batch_without_adapters_is_exactly_the_base_layer():
    layer, context, _adapters, _ = _layer_with_adapters([8])
    x = torch.randn(1, 5, 32)
    context.batch = LoraBatch.build([2, 3], [None, None], x.device)
    assert context.batch is None
    with torch.no_grad():
        assert torch.equal(layer(x), layer.base(x))


def test_rows_reused_by_another_adapter_are_fully_overwritten():
    layer, context, adapters, _ = _layer_with_adapters([16])
    rows = adapters[0].rows
    lora = MultiLoraModel({"proj": layer}, context, layer.A_pool.shape[0])
    lora.write_rows(rows, {})  # an adapter that does not target this layer takes the rows
    assert layer.A_pool[rows].abs().sum() == 0
    assert layer.BT_pool[rows].abs().sum() == 0
    pages = torch.unique(rows // 8)
    assert layer.AT_pages.view(-1, 32, 8)[pages].abs().sum() == 0  # the in-place copy follows A_pool


def test_the_page_transposed_copy_of_a_matches_the_a_pool():
    layer, _context, _adapters, _ = _layer_with_adapters([4, 20, 64])
    pages = layer.AT_pages.view(-1, 32, 8)
    assert torch.equal(pages.transpose(1, 2).reshape(-1, 32), layer.A_pool)


def test_decode_tokens_of_mixed_ranks_are_bagged_reading_only_their_own_rows_and_are_exact():
    ranks = [4, 8, 20, 64, 8, 20, 64, 16]
    layer, context, adapters, dense = _layer_with_adapters(ranks)
    # one decode token per adapter (shuffled), a base-only token, and a prompt of adapter 1
    choice = [3, 0, None, 5, 1, 7, 2, 6, 4, 1]
    counts = [1, 1, 1, 1, 1, 1, 1, 1, 1, 3]
    x = torch.randn(1, sum(counts), 32)
    batch = LoraBatch.build(counts, [None if c is None else adapters[c] for c in choice], x.device)
    assert batch.num_bagged == 11  # adapter 1's four tokens are few enough to bag too
    pages_per_token = [-(-ranks[c] // 8) for c, n in zip(choice, counts, strict=True) if c is not None]
    pages_per_token += [-(-ranks[1] // 8)] * 2  # the prompt's other two tokens
    assert len(batch.bag_rows) == 8 * sum(pages_per_token)  # each token's own pages, no padding rows
    context.batch = batch
    got, expected = _output_and_reference(layer, x, counts, choice, dense)
    assert (got - expected).abs().max() < 1e-4


def test_an_adapter_with_many_tokens_in_the_step_gets_its_own_matmuls_beside_the_bags():
    layer, context, adapters, dense = _layer_with_adapters([8, 16, 32])
    choice, counts = [0, 1, 2], [1, 1, BAG_MAX_TOKENS + 1]
    x = torch.randn(1, sum(counts), 32)
    batch = LoraBatch.build(counts, [adapters[c] for c in choice], x.device)
    assert batch.num_bagged == 2
    segments = batch.segments[batch.num_bagged_segments :]
    assert [(segment.start, segment.end) for segment in segments] == [(2, 11)]
    context.batch = batch
    got, expected = _output_and_reference(layer, x, counts, choice, dense)
    assert (got - expected).abs().max() < 1e-4


def test_projections_reading_the_same_input_each_add_their_own_adapter_delta():
    torch.manual_seed(1)
    context = LoraContext()
    q = MultiLoraLayer(nn.Linear(32, 48), 0, 40, context, page_rows=8)
    v = MultiLoraLayer(nn.Linear(32, 16), 1, 40, context, page_rows=8)
    lora = MultiLoraModel({"q": q, "v": v}, context, 40)
    adapters, dense_q, dense_v = [], [], []
    for index, (rank, start) in enumerate([(8, 8), (16, 16)]):
        rows = torch.arange(start, start + rank)
        pairs = {
            "q": (torch.randn(rank, 32), torch.randn(rank, 48)),
            "v": (torch.randn(rank, 32), torch.randn(rank, 16)),
        }
        lora.write_rows(rows, pairs)
        adapters.append(ResidentAdapter(("a", index), rank, rows, start, frozenset({0, 1}), 8))
        dense_q.append(pairs["q"][1].T @ pairs["q"][0])
        dense_v.append(pairs["v"][1].T @ pairs["v"][0])
    x = torch.randn(1, 3, 32)
    context.batch = LoraBatch.build([1, 1, 1], [adapters[1], adapters[0], adapters[1]], x.device)
    with torch.no_grad():
        got_q, got_v = q(x)[0], v(x)[0]  # v reuses what q derived from x
        for token, adapter in enumerate([1, 0, 1]):
            assert (got_q[token] - q.base(x)[0, token] - x[0, token] @ dense_q[adapter].T).abs().max() < 1e-4
            assert (got_v[token] - v.base(x)[0, token] - x[0, token] @ dense_v[adapter].T).abs().max() < 1e-4
