"""Attention over the paged KV-cache for a flattened batch of sequences, plugged into HF models.

The runner feeds the Hugging Face model one flattened "sequence" holding every scheduled token (decode
tokens of running requests first, then the prompts being prefilled), with each token's own position id,
so RoPE / absolute positions are right per request. This function is registered as an attention
implementation: each layer hands it the new queries/keys/values; it writes the keys/values into their
cache slots and attends per request with SDPA over keys gathered from the block tables (padding masked).
Everything that depends only on the batch layout (slots, gather indices, masks) is built once per step.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from inference.kv_cache import PagedKVCache

ATTENTION_NAME = "modelfactory_paged"


@dataclass
class AttentionGroup:
    """Sequences attended together: same padded query length, keys gathered to the same length."""

    tokens: slice  # their tokens in the flattened batch
    num_seqs: int
    query_len: int
    query_pad_pos: (
        torch.Tensor | None
    )  # [tokens] positions in the [num_seqs * query_len] layout; None if dense
    block_index: torch.Tensor  # [num_seqs * max_blocks] blocks to gather (padding points at block 0, masked)
    kv_len: int  # max_blocks * block_size
    mask: torch.Tensor | None  # [num_seqs, 1, query_len, kv_len], True where attention is allowed


@dataclass
class PagedAttentionBatch:
    cache: PagedKVCache
    slot_mapping: torch.Tensor  # [T] where each new token's key/value goes
    groups: list[AttentionGroup]


def build_group(
    tokens: slice,
    query_lens: list[int],
    context_lens: list[int],
    block_tables: list[list[int]],
    block_size: int,
    device: torch.device,
) -> AttentionGroup:
    """Gather indices and masks for sequences whose last query_lens[i] tokens of context_lens[i] are new."""
    num_seqs = len(query_lens)
    query_len = max(query_lens)
    width = max(len(table) for table in block_tables)
    kv_len = width * block_size
    block_index = torch.tensor(
        [table + [0] * (width - len(table)) for table in block_tables], dtype=torch.long
    )
    key_pos = torch.arange(kv_len).view(1, 1, kv_len)
    query_pos = torch.arange(query_len).view(1, query_len, 1)
    ctx = torch.tensor(context_lens).view(-1, 1, 1)
    new = torch.tensor(query_lens).view(-1, 1, 1)
    mask = (key_pos < ctx) & (key_pos <= ctx - new + query_pos)
    mask[:, :, 0] |= query_pos.squeeze(-1) >= new.squeeze(-1)  # padded query rows: avoid all-masked NaNs
    query_pad_pos = None
    if len(set(query_lens)) != 1:
        query_pad_pos = torch.cat([torch.arange(n) + s * query_len for s, n in enumerate(query_lens)]).to(
            device
        )
    return AttentionGroup(
        tokens,
        num_seqs,
        query_len,
        query_pad_pos,
        block_index.view(-1).to(device),
        kv_len,
        mask.unsqueeze(1).to(device),
    )


# What one more attention group costs, in padded (sequence, block) pairs of gathered keys: its mask and
# gather indices, and per layer two gathers and an SDPA call more (measured on the demo shape, batch 32).
GROUP_OVERHEAD_BLOCKS = 16


def split_by_width(widths: list[int], overhead: int = GROUP_OVERHEAD_BLOCKS) -> list[tuple[int, int]]:
    """Cut sequences sorted by block count into groups (start, end) minimising gathered blocks + overhead.

    Every sequence of a group is padded to the group's widest block table, so one group for a batch of
    short and long contexts gathers (and attends over) many padding blocks. Groups are cut only where the
    width changes (few distinct widths), by dynamic programming over those cut points.
    """
    if not widths:
        return []
    cuts = [0] + [i for i in range(1, len(widths)) if widths[i] != widths[i - 1]] + [len(widths)]
    best = [0.0] + [float("inf")] * (len(cuts) - 1)  # best[k]: cost of sequences [0, cuts[k])
    back = [0] * len(cuts)
    for k in range(1, len(cuts)):
        end = cuts[k]
        for j in range(k):
            cost = best[j] + (end - cuts[j]) * widths[end - 1] + overhead
            if cost < best[k]:
                best[k], back[k] = cost, j
    groups = []
    k = len(cuts) - 1
    while k > 0:
        groups.append((cuts[back[k]], cuts[k]))
        k = back[k]
    return groups[::-1]


def paged_attention_forward(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float | None = None,
    dropout: float = 0.0,
    paged_batch: PagedAttentionBatch | None = None,
    **kwargs,
) -> tuple[torch.Tensor, None]:
    """HF attention-interface entry point: query/key/value are [1, heads, T, head_dim]."""
    if paged_batch is None:
        raise RuntimeError("the paged attention implementation runs only inside the engine's model runner")
    cache, layer = paged_batch.cache, module.layer_idx
    keys, values = cache.keys[layer], cache.values[layer]
    kv_heads = keys.shape[2]
    keys.view(-1, kv_heads, keys.shape[3]).index_copy_(0, paged_batch.slot_mapping, key[0].transpose(0, 1))
    values.view(-1, kv_heads, keys.shape[3]).index_copy_(
        0, paged_batch.slot_mapping, value[0].transpose(0, 1)
    )
    heads, total, head_dim = query.shape[1], query.shape[2], query.shape[3]
    gqa = heads != kv_heads
    out = query.new_empty(total, heads, head_dim)
    for group in paged_batch.groups:
        q = query[0, :, group.tokens].transpose(0, 1)  # [n, heads, dim]
        if group.query_pad_pos is not None:
            padded = q.new_zeros(group.num_seqs * group.query_len, heads, head_dim)
            q = padded.index_copy_(0, group.query_pad_pos, q)
        q = q.reshape(group.num_seqs, group.query_len, heads, head_dim).transpose(1, 2)
        k = _gather(keys, group, cache.gathered_keys)  # [seqs, kv_heads, kv_len, dim]
        v = _gather(values, group, cache.gathered_values)
        o = F.scaled_dot_product_attention(q, k, v, attn_mask=group.mask, scale=scaling, enable_gqa=gqa)
        o = o.transpose(1, 2).reshape(-1, heads, head_dim)
        if group.query_pad_pos is not None:
            o = o.index_select(0, group.query_pad_pos)
        out[group.tokens] = o
    return out.unsqueeze(0), None


def _gather(blocks: torch.Tensor, group: AttentionGroup, workspace) -> torch.Tensor:
    shape = (group.block_index.numel(), *blocks.shape[1:])
    out = workspace.take(shape, blocks)
    torch.index_select(blocks, 0, group.block_index, out=out)
    return out.view(group.num_seqs, group.kv_len, blocks.shape[2], blocks.shape[3]).transpose(1, 2)


def register_paged_attention() -> str:
    """Make the function selectable as `attn_implementation` for any HF model; returns its name."""
    from transformers import AttentionInterface

    AttentionInterface.register(ATTENTION_NAME, paged_attention_forward)
    return ATTENTION_NAME
