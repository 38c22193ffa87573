"""The batched LoRA kernel adds exactly each token's own adapter delta, whichever way it groups tokens."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from inference.lora_layers import LoraBatch, LoraContext, MultiLoraLayer, MultiLoraModel, ResidentAdapter


def _layer_with_adapters(ranks: list[int], page_rows: int = 8):
    torch.manual_seed(0)
    base = nn.Linear(32, 48)
    rows_needed = sum(-(-r // page_rows) * page_rows for r in ranks) + page_rows
    context = LoraContext()
    layer = MultiLoraLayer(base, 0, rows_needed, context)
    lora = MultiLoraModel({"proj": layer}, context, rows_needed)
    adapters, dense = [], []
    next_row = page_rows
    for index, rank in enumerate(ranks):
        padded = -(-rank // page_rows) * page_rows
        rows = torch.arange(next_row, next_row + padded)
        a_weight, bt_weight = torch.randn(rank, 32), torch.randn(rank, 48)
        lora.write_rows(rows, {"proj": (a_weight, bt_weight)})
        adapters.append(ResidentAdapter(("a", index), rank, rows, next_row, frozenset({0})))
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


@pytest.mark.parametrize("mode", ["grouped", "segmented"])
def test_each_token_gets_its_own_adapter_delta_and_base_tokens_none(mode):
    layer, context, adapters, dense = _layer_with_adapters([4, 8, 20, 64])
    counts = [3, 1, 5, 2, 1, 4]
    choice = [0, None, 2, 3, 0, 1]
    x = torch.randn(1, sum(counts), 32)
    context.batch = LoraBatch.build(
        counts, [None if c is None else adapters[c] for c in choice], x.device, mode
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


def test_single_token_adapters_of_mixed_ranks_read_only_their_own_rows_and_are_exact():
    ranks = [4, 8, 20, 64, 8, 20, 64, 16]
    layer, context, adapters, dense = _layer_with_adapters(ranks)
    # one decode token per adapter (shuffled), a base-only token, and a prompt of adapter 1
    choice = [3, 0, None, 5, 1, 7, 2, 6, 4, 1]
    counts = [1, 1, 1, 1, 1, 1, 1, 1, 1, 3]
    x = torch.randn(1, sum(counts), 32)
    batch = LoraBatch.build(counts, [None if c is None else adapters[c] for c in choice], x.device, "grouped")
    assert batch.num_single == 7
    assert len(batch.single_rows) == sum(8 * -(-ranks[c] // 8) for c in {3, 0, 5, 7, 2, 6, 4})  # no padding
    context.batch = batch
    got, expected = _output_and_reference(layer, x, counts, choice, dense)
    assert (got - expected).abs().max() < 1e-4
