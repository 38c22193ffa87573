"""Prompt chunks attend to the keys already in their blocks and causally to their own: the optimised paths
(decode bags, fresh-prompt SDPA, gathered-context SDPA) in one mixed step equal the plain reference."""

from __future__ import annotations

import random

import pytest
import torch
from torch import nn

from inference.kv_cache import KVShape, PagedKVCache
from inference.paged_attention import (
    DecodeLayout,
    PagedAttentionBatch,
    build_context_prefill,
    build_prefill,
    paged_attention_forward,
    reference_attention,
)

BLOCK = 4
CPU = torch.device("cpu")


class _Layer(nn.Module):
    layer_idx = 0


def _cache(kv_heads: int, dim: int) -> PagedKVCache:
    cache = PagedKVCache(KVShape(1, kv_heads, dim), num_blocks=96, block_size=BLOCK, dtype=torch.float32,
                         device=CPU)  # fmt: skip
    cache.keys[0].normal_()  # whatever earlier steps left in the cache: only the right slots may be read
    cache.values[0].normal_()
    return cache


@pytest.mark.parametrize(("heads", "kv_heads"), [(4, 4), (4, 2)])
def test_a_mixed_step_of_decodes_fresh_prompts_and_chunks_after_cached_keys_matches_the_reference(
    heads, kv_heads
):
    torch.manual_seed(0)
    random.seed(0)
    dim = 8
    cache = _cache(kv_heads, dim)
    free = list(range(1, 96))
    random.shuffle(free)
    # (tokens already in the cache, tokens computed in this step)
    decodes = [(0, 1), (4, 1), (9, 1), (15, 1)]  # one token: a first token, a block boundary, ...
    fresh = [(0, 3), (0, 8), (0, 5)]
    after_cache = [(4, 3), (8, 8), (5, 6), (1, 2), (13, 11)]  # block-aligned and not, short and long
    sequences = []  # (tokens in the flat step, first new position, block table)
    slots = []
    total = 0
    for computed, new in [*decodes, *fresh, *after_cache]:
        table = [free.pop() for _ in range(-(-(computed + new) // BLOCK))]
        sequences.append((slice(total, total + new), computed, table))
        slots += [table[p // BLOCK] * BLOCK + p % BLOCK for p in range(computed, computed + new)]
        total += new
    query = torch.randn(1, heads, total, dim)
    key, value = torch.randn(1, kv_heads, total, dim), torch.randn(1, kv_heads, total, dim)
    n_dec, n_fresh = len(decodes), len(fresh)
    decode = DecodeLayout(
        slice(0, n_dec), [c + 1 for c, _ in decodes], [table for _, _, table in sequences[:n_dec]]
    )
    fresh_end = n_dec + sum(n for _, n in fresh)
    prefill = build_prefill(slice(n_dec, fresh_end), [n for _, n in fresh], CPU)
    chunks = sequences[n_dec + n_fresh :]
    context = build_context_prefill(
        slice(fresh_end, total), [n for _, n in after_cache], [c for c, _ in after_cache],
        [table for _, _, table in chunks], BLOCK, CPU,
    )  # fmt: skip
    batch = PagedAttentionBatch(cache, torch.tensor(slots), decode, prefill, context)

    out, _ = paged_attention_forward(_Layer(), query, key, value, None, paged_batch=batch)

    expected = reference_attention(query, cache, 0, sequences)
    assert (out[0] - expected).abs().max() < 1e-5
    # the step's own keys were written where the reference read them
    written = cache.keys[0].permute(0, 3, 1, 2).reshape(-1, kv_heads, dim)[slots]
    assert torch.equal(written, key[0].transpose(0, 1))


def test_a_prompt_computed_in_chunks_attends_like_the_prompt_computed_at_once():
    torch.manual_seed(1)
    heads, kv_heads, dim, length = 4, 2, 8, 13
    query = torch.randn(1, heads, length, dim)
    key, value = torch.randn(1, kv_heads, length, dim), torch.randn(1, kv_heads, length, dim)
    table = [7, 3, 11, 5]
    slots = [table[p // BLOCK] * BLOCK + p % BLOCK for p in range(length)]

    whole_cache = _cache(kv_heads, dim)
    whole, _ = paged_attention_forward(
        _Layer(), query, key, value, None,
        paged_batch=PagedAttentionBatch(whole_cache, torch.tensor(slots), None,
                                        build_prefill(slice(0, length), [length], CPU)),
    )  # fmt: skip

    chunk_cache = _cache(kv_heads, dim)
    pieces = []
    for start, end in [(0, 5), (5, 6), (6, 13)]:  # a fresh chunk, a one-token chunk, a chunk after both
        span = slice(start, end)
        part = (query[:, :, span], key[:, :, span], value[:, :, span])
        if start == 0:
            layouts = (None, build_prefill(slice(0, end), [end], CPU), None)
        elif end - start == 1:
            layouts = (DecodeLayout(slice(0, 1), [end], [table]), None, None)
        else:
            layouts = (None, None, build_context_prefill(slice(0, end - start), [end - start], [start],
                                                         [table], BLOCK, CPU))  # fmt: skip
        batch = PagedAttentionBatch(chunk_cache, torch.tensor(slots[span]), *layouts)
        pieces.append(paged_attention_forward(_Layer(), *part, None, paged_batch=batch)[0])

    assert (torch.cat(pieces, dim=1) - whole).abs().max() < 1e-5
