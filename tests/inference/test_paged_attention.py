"""Paged attention reads keys and values in place: decodes over scattered blocks, prompts over themselves."""

from __future__ import annotations

import random

import pytest
import torch
from torch import nn

from inference.kv_cache import KVShape, PagedKVCache
from inference.paged_attention import (
    DecodeLayout,
    PagedAttentionBatch,
    build_prefill,
    paged_attention_forward,
    reference_attention,
    reference_decode_attention,
)

BLOCK = 4


class _Layer(nn.Module):
    layer_idx = 0


def _reference(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool) -> torch.Tensor:
    """Plain softmax attention for one sequence: q [heads, n, dim], k/v [kv_heads, m, dim]."""
    groups = q.shape[0] // k.shape[0]
    k, v = k.repeat_interleave(groups, 0), v.repeat_interleave(groups, 0)
    scores = q @ k.transpose(1, 2) / q.shape[-1] ** 0.5
    if causal:
        scores = scores.masked_fill(torch.ones_like(scores, dtype=torch.bool).triu(1), float("-inf"))
    return torch.softmax(scores, -1) @ v


def _batch(cache, slots, decode=None, prefill=None):
    return PagedAttentionBatch(cache, torch.tensor(slots), decode, prefill)


@pytest.mark.parametrize(("heads", "kv_heads"), [(4, 4), (4, 2)])
def test_decodes_over_scattered_blocks_match_plain_attention_over_their_own_context(heads, kv_heads):
    torch.manual_seed(0)
    random.seed(0)
    dim = 8
    cache = PagedKVCache(KVShape(1, kv_heads, dim), num_blocks=64, block_size=BLOCK, dtype=torch.float32,
                         device=torch.device("cpu"))  # fmt: skip
    free = list(range(1, 64))
    random.shuffle(free)
    contexts = [1, 4, 5, 11, 16, 2]  # one token, exactly one block, a partial last block, ...
    tables = [[free.pop() for _ in range(-(-n // BLOCK))] for n in contexts]
    history = []  # every sequence's keys/values so far, written through the attention itself
    for n, table in zip(contexts, tables, strict=True):
        keys, values = torch.randn(kv_heads, n, dim), torch.randn(kv_heads, n, dim)
        history.append((keys, values))
        slots = [table[p // BLOCK] * BLOCK + p % BLOCK for p in range(n - 1)]
        if slots:  # the earlier tokens, as a prompt step would have written them
            prefill = build_prefill(slice(0, n - 1), [n - 1], torch.device("cpu"))
            query = torch.randn(1, heads, n - 1, dim)
            paged_attention_forward(_Layer(), query, keys[None, :, :-1], values[None, :, :-1], None,
                                    paged_batch=_batch(cache, slots, prefill=prefill))  # fmt: skip
    # one decode step for all of them: the newest token of each
    query = torch.randn(1, heads, len(contexts), dim)
    new_keys = torch.stack([k[:, -1] for k, _ in history], 1)[None]
    new_values = torch.stack([v[:, -1] for _, v in history], 1)[None]
    slots = [
        table[(n - 1) // BLOCK] * BLOCK + (n - 1) % BLOCK for n, table in zip(contexts, tables, strict=True)
    ]
    layout = DecodeLayout(slice(0, len(contexts)), contexts, tables)

    out, _ = paged_attention_forward(_Layer(), query, new_keys, new_values, None,
                                     paged_batch=_batch(cache, slots, decode=layout))  # fmt: skip

    for s, (keys, values) in enumerate(history):
        expected = _reference(query[0, :, s : s + 1], keys, values, causal=False)[:, 0]
        assert (out[0, s] - expected).abs().max() < 1e-5


@pytest.mark.parametrize(("heads", "kv_heads"), [(4, 4), (4, 2), (6, 2), (4, 1)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_decode_bags_equal_gathered_sdpa_over_random_block_tables(heads, kv_heads, seed):
    torch.manual_seed(seed)
    rng = random.Random(seed)
    dim, num_blocks = 8, 160
    cache = PagedKVCache(KVShape(1, kv_heads, dim), num_blocks=num_blocks, block_size=BLOCK,
                         dtype=torch.float32, device=torch.device("cpu"))  # fmt: skip
    cache.keys[0].normal_()  # whatever earlier steps left in the cache: only each context may be read
    cache.values[0].normal_()
    free = list(range(1, num_blocks))
    rng.shuffle(free)
    # one token, a full block, a partial last block, ... and random lengths
    contexts = [1, BLOCK, BLOCK + 1, 3 * BLOCK - 1, *(rng.randint(1, 60) for _ in range(5))]
    rng.shuffle(contexts)
    tables = [[free.pop() for _ in range(-(-n // BLOCK))] for n in contexts]
    slots = [
        table[(n - 1) // BLOCK] * BLOCK + (n - 1) % BLOCK for n, table in zip(contexts, tables, strict=True)
    ]
    query = torch.randn(1, heads, len(contexts), dim)
    key, value = torch.randn(1, kv_heads, len(contexts), dim), torch.randn(1, kv_heads, len(contexts), dim)
    layout = DecodeLayout(slice(0, len(contexts)), contexts, tables)

    out, _ = paged_attention_forward(_Layer(), query, key, value, None,
                                     paged_batch=_batch(cache, slots, decode=layout))  # fmt: skip

    expected = reference_decode_attention(query, cache, 0, layout)
    assert (out[0] - expected).abs().max() < 1e-5
    # and the oracle itself agrees with the slot-by-slot reference
    sequences = [
        (slice(s, s + 1), n - 1, table) for s, (n, table) in enumerate(zip(contexts, tables, strict=True))
    ]
    assert (expected - reference_attention(query, cache, 0, sequences)).abs().max() < 1e-5


def test_prompts_of_different_lengths_attend_causally_to_their_own_tokens_only():
    torch.manual_seed(1)
    heads, kv_heads, dim = 4, 2, 8
    cache = PagedKVCache(KVShape(1, kv_heads, dim), num_blocks=32, block_size=BLOCK, dtype=torch.float32,
                         device=torch.device("cpu"))  # fmt: skip
    lengths = [3, 7, 1]
    total = sum(lengths)
    query, key, value = (
        torch.randn(1, heads, total, dim),
        torch.randn(1, kv_heads, total, dim),
        torch.randn(1, kv_heads, total, dim),
    )
    slots = list(range(BLOCK, BLOCK + total))
    prefill = build_prefill(slice(0, total), lengths, torch.device("cpu"))

    out, _ = paged_attention_forward(
        _Layer(), query, key, value, None, paged_batch=_batch(cache, slots, prefill=prefill)
    )

    start = 0
    for n in lengths:
        span = slice(start, start + n)
        expected = _reference(query[0, :, span], key[0, :, span], value[0, :, span], causal=True)
        assert (out[0, span] - expected.transpose(0, 1)).abs().max() < 1e-5
        start += n
    # and their keys/values are in the cache for the decodes that follow
    written = cache.keys[0].permute(0, 3, 1, 2).reshape(-1, kv_heads, dim)[slots]
    assert torch.equal(written, key[0].transpose(0, 1))
