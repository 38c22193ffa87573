"""Attention over the paged KV-cache for a flattened batch of sequences, plugged into HF models.

The runner feeds the Hugging Face model one flattened "sequence" holding every scheduled token (decode
tokens of running requests first, then the prompts being prefilled), with each token's own position id,
so RoPE / absolute positions are right per request. This function is registered as an attention
implementation: each layer hands it the new queries/keys/values; it writes the keys/values into their
cache slots, then

* **decodes** (one new token per sequence) read every key and value **in place** in the cache, by two
  `embedding_bag` sums, with no gather and no padding to the longest context:
  scores: the cache keeps keys transposed within each block, `[blocks, kv_heads, head_dim, block_size]`,
  so row (block, head, d) holds dimension d of that block's keys; one bag per (sequence, head, block)
  over its `head_dim` rows, weighted by the query, gives the block's `block_size` scores (q . k).
  values: one bag per (sequence, head) over its context's value rows, weighted by the softmax.
  Several times faster than gathering the blocks and calling SDPA (figures in
  docs/engine-benchmark-history.md): gathers copied every key and value once more per layer;
* **prompt chunks from position 0** attend only to their own new tokens, so they read nothing from the
  cache: SDPA over the step's fresh keys and values, padded per prompt, causal;
* **prompt chunks after cached keys** (a later chunk of a chunked prefill, or the rest of a prompt whose
  first blocks came from the prefix cache) attend in full to the keys already in their blocks and
  causally to their own: their blocks are gathered (keys and values, padded to the longest) and SDPA
  runs with a mask `key position <= query position`. A one-token chunk takes the decode path.

`reference_attention` is the plain version of all three (per token, per head, reading slot by slot), the
oracle the tests hold these against; `reference_decode_attention` is the plain version of the decodes
alone (gather each sequence's blocks, then SDPA), the oracle of the two bags.

Everything that depends only on the batch layout (slots, bag indices, masks) is built once per step, on
the first layer's call, and shared by all layers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from inference.kv_cache import PagedKVCache, slot
from inference.row_bags import consecutive_row_bags

ATTENTION_NAME = "modelfactory_paged"


@dataclass
class DecodeLayout:
    """What the decoding sequences attend over: their context lengths and block tables."""

    tokens: slice  # their tokens in the flattened batch (one each)
    context_lens: list[int]  # including the token being decoded (its key is written first)
    block_tables: list[list[int]]


@dataclass
class DecodeBags:
    """Bag indices of one step's decodes, for a model with `num_heads` query heads (built once a step).

    Everything is ordered head-major, (head, sequence, ...): queries arrive as [heads, seqs, dim], and a
    head's indices are the same sequence-level indices shifted by the head's offset (one broadcast)."""

    num_seqs: int
    width: int  # blocks of the longest context: scores are laid out [heads, seqs, width * block_size]
    key_index: torch.Tensor  # rows (block, kv_head, d) of the key table, head_dim per bag
    key_offsets: torch.Tensor  # one bag per (head, sequence, block of its context)
    key_query: torch.Tensor  # for each of those bags, its query row (head * seqs + sequence)
    score_rows: torch.Tensor  # and where its block_size scores go in [heads * seqs * width, block_size]
    score_mask: torch.Tensor  # [1, seqs, width * block_size]: 0 up to each context length, -inf past it
    value_index: torch.Tensor  # rows (slot, kv_head) of the value table, per (head, sequence, position)
    value_offsets: torch.Tensor  # one bag per (head, sequence)
    value_probs: torch.Tensor  # for each value row, its probability's place in the flat score layout


@dataclass
class PrefillLayout:
    """Prompts computed from their first token in this step: causal attention over their own tokens."""

    tokens: slice
    num_seqs: int
    query_len: int  # the longest prompt; shorter ones are padded to it
    query_pad_pos: torch.Tensor | None  # [tokens] positions in the [num_seqs * query_len] layout
    mask: torch.Tensor | None  # [num_seqs, 1, query_len, query_len]; None when one prompt (causal)


@dataclass
class ContextPrefillLayout:
    """Prompt chunks whose earlier tokens' keys are in the cache: each query attends to every key of its
    sequence up to its own position (the cached ones and the chunk's, written first), gathered by block."""

    tokens: slice
    num_seqs: int
    query_len: int  # the longest chunk; shorter ones are padded to it
    query_pad_pos: torch.Tensor | None  # [tokens] positions in the [num_seqs * query_len] layout
    key_blocks: torch.Tensor  # [num_seqs * width] the blocks each sequence attends over, padded with block 0
    width: int  # blocks per sequence in key_blocks
    mask: torch.Tensor  # [num_seqs, 1, query_len, width * block_size]: key position <= query position


@dataclass
class PagedAttentionBatch:
    cache: PagedKVCache
    slot_mapping: torch.Tensor  # [T] where each new token's key/value goes
    decode: DecodeLayout | None
    prefill: PrefillLayout | None
    context_prefill: ContextPrefillLayout | None = None
    slot_block: torch.Tensor = field(init=False)  # [T] its block, and ...
    slot_offset: torch.Tensor = field(init=False)  # ... its place in the block (for the key layout)
    _bags: dict[int, DecodeBags] = field(default_factory=dict)  # query heads -> bags

    def __post_init__(self) -> None:
        self.slot_block = self.slot_mapping // self.cache.block_size
        self.slot_offset = self.slot_mapping % self.cache.block_size

    def decode_bags(self, num_heads: int) -> DecodeBags:
        bags = self._bags.get(num_heads)
        if bags is None:
            bags = self._bags[num_heads] = build_decode_bags(
                self.decode, num_heads, self.cache.shape.num_kv_heads, self.cache.shape.head_dim,
                self.cache.block_size, self.slot_mapping.device,
            )  # fmt: skip
        return bags


def build_decode_bags(
    layout: DecodeLayout, num_heads: int, kv_heads: int, head_dim: int, block_size: int, device: torch.device
) -> DecodeBags:
    """Index tensors for the two bags of every decoding sequence (see the module docstring): flat ranges
    per sequence, then one broadcast over heads; no padding, no boolean masks."""
    num_seqs = len(layout.context_lens)
    context = torch.tensor(layout.context_lens)
    blocks_used = (context + block_size - 1) // block_size
    width = int(blocks_used.max())
    tables = zip(layout.block_tables, blocks_used.tolist(), strict=True)
    blocks = torch.tensor([block for table, n in tables for block in table[:n]])  # in use, seq by seq
    first_block = _starts(blocks_used)
    kv_head = (torch.arange(num_heads) // (num_heads // kv_heads)).view(-1, 1)  # GQA: heads share one
    head = torch.arange(num_heads).view(-1, 1)

    # keys: a bag per (head, sequence, block in use)
    sequence, block_number = _ranges(blocks_used)
    key_rows = ((blocks * kv_heads).view(1, -1) + kv_head) * head_dim  # [heads, blocks in use]
    key_index, key_offsets = consecutive_row_bags(key_rows, head_dim)
    key_query = (head * num_seqs + sequence.view(1, -1)).view(-1)
    score_rows = (key_query * width).view(num_heads, -1) + block_number.view(1, -1)

    # values: a bag per (head, sequence) over the positions of its context
    sequence, position = _ranges(context)
    slots = slot(blocks[first_block[sequence] + position // block_size], position, block_size)
    value_index = (slots * kv_heads).view(1, -1) + kv_head  # [heads, positions of all contexts]
    value_offsets = (head * len(slots) + _starts(context).view(1, -1)).view(-1)
    kv_len = width * block_size
    value_probs = (head * (num_seqs * kv_len) + (sequence * kv_len + position).view(1, -1)).view(-1)

    valid = torch.arange(kv_len).view(1, -1) < context.view(-1, 1)
    score_mask = torch.zeros(1, num_seqs, kv_len).masked_fill_(~valid.unsqueeze(0), -math.inf)
    return DecodeBags(
        num_seqs,
        width,
        key_index.to(device),
        key_offsets.to(device),
        key_query.to(device),
        score_rows.view(-1).to(device),
        score_mask.to(device),
        value_index.view(-1).to(device),
        value_offsets.to(device),
        value_probs.to(device),
    )


def _starts(lengths: torch.Tensor) -> torch.Tensor:
    """Where each of ranges of these lengths, laid end to end, starts."""
    return lengths.cumsum(0) - lengths


def _ranges(lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For ranges of these lengths laid end to end: each element's range and its place in it."""
    owner = torch.arange(len(lengths)).repeat_interleave(lengths)
    return owner, torch.arange(len(owner)) - _starts(lengths)[owner]


def build_prefill(tokens: slice, query_lens: list[int], device: torch.device) -> PrefillLayout:
    """Padding positions and the causal mask (with padded keys masked) for prompts of these lengths."""
    num_seqs = len(query_lens)
    query_len = max(query_lens)
    if num_seqs == 1:
        return PrefillLayout(tokens, 1, query_len, None, None)
    key_pos = torch.arange(query_len).view(1, 1, query_len)
    query_pos = torch.arange(query_len).view(1, query_len, 1)
    lengths = torch.tensor(query_lens).view(-1, 1, 1)
    mask = (key_pos < lengths) & (key_pos <= query_pos)
    mask[:, :, 0] = True  # padded query rows attend to something: no all-masked rows, no NaNs
    query_pad_pos = None
    if len(set(query_lens)) != 1:
        query_pad_pos = torch.cat([torch.arange(n) + s * query_len for s, n in enumerate(query_lens)])
        query_pad_pos = query_pad_pos.to(device)
    return PrefillLayout(tokens, num_seqs, query_len, query_pad_pos, mask.unsqueeze(1).to(device))


def build_context_prefill(
    tokens: slice,
    query_lens: list[int],
    context_lens: list[int],
    block_tables: list[list[int]],
    block_size: int,
    device: torch.device,
) -> ContextPrefillLayout:
    """Gather indices and the mask for chunks of `query_lens` tokens after `context_lens` cached ones."""
    num_seqs = len(query_lens)
    query_len = max(query_lens)
    ends = [c + q for c, q in zip(context_lens, query_lens, strict=True)]
    width = -(-max(ends) // block_size)
    key_blocks = torch.zeros(num_seqs, width, dtype=torch.long)
    for row, (table, end) in enumerate(zip(block_tables, ends, strict=True)):
        used = -(-end // block_size)
        key_blocks[row, :used] = torch.tensor(table[:used])
    key_pos = torch.arange(width * block_size).view(1, 1, -1)
    query_pos = torch.tensor(context_lens).view(-1, 1, 1) + torch.arange(query_len).view(1, -1, 1)
    mask = key_pos <= query_pos  # padded query rows see keys too (no all-masked rows, no NaNs); dropped
    query_pad_pos = None
    if len(set(query_lens)) != 1:
        query_pad_pos = torch.cat([torch.arange(n) + s * query_len for s, n in enumerate(query_lens)])
        query_pad_pos = query_pad_pos.to(device)
    return ContextPrefillLayout(
        tokens,
        num_seqs,
        query_len,
        query_pad_pos,
        key_blocks.view(-1).to(device),
        width,
        mask.unsqueeze(1).to(device),
    )


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
    keys, values = cache.keys[layer], cache.values[layer]  # see PagedKVCache for both layouts
    block_size = cache.block_size
    slots = paged_batch.slot_mapping
    new_keys, new_values = key[0].transpose(0, 1), value[0].transpose(0, 1)  # [T, kv_heads, dim]
    keys[paged_batch.slot_block, :, :, paged_batch.slot_offset] = new_keys
    kv_heads, head_dim = values.shape[2], values.shape[3]
    values.view(-1, kv_heads, head_dim).index_copy_(0, slots, new_values)
    heads, total = query.shape[1], query.shape[2]
    scale = scaling if scaling is not None else head_dim**-0.5
    out = query.new_empty(total, heads, head_dim)
    if paged_batch.decode is not None:
        tokens = paged_batch.decode.tokens
        bags = paged_batch.decode_bags(heads)
        queries = query[0, :, tokens].reshape(-1, head_dim)  # [heads * seqs, dim]
        weights = queries.index_select(0, bags.key_query).view(-1)
        scores = F.embedding_bag(
            bags.key_index,
            keys.view(-1, block_size),
            bags.key_offsets,
            mode="sum",
            per_sample_weights=weights,
        )
        laid_out = scores.new_zeros(heads * bags.num_seqs * bags.width, block_size)
        laid_out.index_copy_(0, bags.score_rows, scores)
        scaled = torch.add(bags.score_mask, laid_out.view(heads, bags.num_seqs, -1), alpha=scale)
        probs = torch.softmax(scaled, dim=-1)
        attended = F.embedding_bag(
            bags.value_index,
            values.view(-1, head_dim),
            bags.value_offsets,
            mode="sum",
            per_sample_weights=probs.view(-1).index_select(0, bags.value_probs),
        )
        out[tokens] = attended.view(heads, bags.num_seqs, head_dim).transpose(0, 1)
    if paged_batch.prefill is not None:
        prefill = paged_batch.prefill
        tokens = prefill.tokens
        q = _padded(query[0, :, tokens].transpose(0, 1), prefill)
        k = _padded(new_keys[tokens], prefill)
        v = _padded(new_values[tokens], prefill)
        o = F.scaled_dot_product_attention(
            q, k, v, attn_mask=prefill.mask, is_causal=prefill.mask is None, scale=scale,
            enable_gqa=heads != kv_heads,
        )  # fmt: skip
        o = o.transpose(1, 2).reshape(-1, heads, head_dim)
        if prefill.query_pad_pos is not None:
            o = o.index_select(0, prefill.query_pad_pos)
        out[tokens] = o
    if paged_batch.context_prefill is not None:
        layout = paged_batch.context_prefill
        tokens = layout.tokens
        q = _padded(query[0, :, tokens].transpose(0, 1), layout)
        num_seqs, width = layout.num_seqs, layout.width
        # [seqs * width, kv_heads, dim, block] -> [seqs, kv_heads, width * block, dim]
        k = keys.index_select(0, layout.key_blocks).view(num_seqs, width, kv_heads, head_dim, block_size)
        k = k.permute(0, 2, 1, 4, 3).reshape(num_seqs, kv_heads, width * block_size, head_dim)
        v = values.index_select(0, layout.key_blocks).view(num_seqs, width, block_size, kv_heads, head_dim)
        v = v.permute(0, 3, 1, 2, 4).reshape(num_seqs, kv_heads, width * block_size, head_dim)
        o = F.scaled_dot_product_attention(
            q, k, v, attn_mask=layout.mask, scale=scale, enable_gqa=heads != kv_heads
        )
        o = o.transpose(1, 2).reshape(-1, heads, head_dim)
        if layout.query_pad_pos is not None:
            o = o.index_select(0, layout.query_pad_pos)
        out[tokens] = o
    return out.unsqueeze(0), None


def reference_attention(
    query: torch.Tensor,
    cache: PagedKVCache,
    layer: int,
    sequences: list[tuple[slice, int, list[int]]],
    scale: float | None = None,
) -> torch.Tensor:
    """The plain version of `paged_attention_forward`'s attention, after the new keys were written: for
    each sequence (its tokens in the flat batch, the position of its first one, its block table), every
    query attends to its sequence's keys at positions 0 .. its own, read slot by slot from the cache.
    query [1, heads, T, dim] -> [T, heads, dim]."""
    keys, values = cache.keys[layer], cache.values[layer]
    block_size = cache.block_size
    heads, head_dim = query.shape[1], query.shape[3]
    group = heads // keys.shape[1]
    scale = scale if scale is not None else head_dim**-0.5
    out = query.new_zeros(query.shape[2], heads, head_dim)
    for tokens, first, table in sequences:
        for offset, token in enumerate(range(tokens.start, tokens.stop)):
            position = first + offset
            places = [(table[p // block_size], p % block_size) for p in range(position + 1)]
            k = torch.stack([keys[block, :, :, at] for block, at in places])  # [n, kv_heads, dim]
            v = torch.stack([values[block, at] for block, at in places])
            for head in range(heads):
                scores = k[:, head // group] @ query[0, head, token] * scale
                out[token, head] = torch.softmax(scores, dim=0) @ v[:, head // group]
    return out


def reference_decode_attention(
    query: torch.Tensor, cache: PagedKVCache, layer: int, layout: DecodeLayout, scale: float | None = None
) -> torch.Tensor:
    """The decodes' attention the obvious way, after their new keys were written: gather each sequence's
    keys and values from its blocks, cut them at its context length, and let SDPA attend (query head h
    reads kv head h // group, as the bags do). query [1, heads, T, dim] -> [decoding seqs, heads, dim]."""
    keys, values = cache.keys[layer], cache.values[layer]
    block_size, heads = cache.block_size, query.shape[1]
    out = []
    tokens = range(layout.tokens.start, layout.tokens.stop)
    for token, length, table in zip(tokens, layout.context_lens, layout.block_tables, strict=True):
        blocks = torch.tensor(table[: -(-length // block_size)], device=keys.device)
        # keys [blocks, kv_heads, dim, block], values [blocks, block, kv_heads, dim] -> [kv_heads, len, dim]
        k = keys[blocks].permute(1, 0, 3, 2).flatten(1, 2)[:, :length]
        v = values[blocks].permute(2, 0, 1, 3).flatten(1, 2)[:, :length]
        q = query[:, :, token : token + 1]  # [1, heads, 1, dim]
        o = F.scaled_dot_product_attention(q, k[None], v[None], scale=scale, enable_gqa=heads != k.shape[0])
        out.append(o[0, :, 0])
    return torch.stack(out)


def _padded(x: torch.Tensor, prefill: PrefillLayout | ContextPrefillLayout) -> torch.Tensor:
    """[tokens, heads, dim] of the prompts -> [prompts, heads, query_len, dim], zero-padded."""
    if prefill.query_pad_pos is not None:
        x = x.new_zeros(prefill.num_seqs * prefill.query_len, *x.shape[1:]).index_copy_(
            0, prefill.query_pad_pos, x
        )
    return x.reshape(prefill.num_seqs, prefill.query_len, *x.shape[1:]).transpose(1, 2)


def register_paged_attention() -> str:
    """Make the function selectable as `attn_implementation` for any HF model; returns its name."""
    from transformers import AttentionInterface

    AttentionInterface.register(ATTENTION_NAME, paged_attention_forward)
    return ATTENTION_NAME
