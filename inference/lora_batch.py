"""Which tokens of a step use which resident adapter: the layout every LoRA layer of the step reads.

Built once per step by the model runner (`LoraBatch.build`) from the flat step layout. Tokens are put
in adapter order: first the tokens of adapters with few tokens in the step (at most `bag_max_tokens`:
decodes of all but the most popular adapters), which narrow layers compute together, token by token, by
two `embedding_bag` sums (the bags); then each other adapter's tokens as one contiguous segment, which
gets its own matmul pair. Tokens of requests without an adapter are in no group. See `lora_layers.py`
for the kernels that read this.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from inference.lora_layers import ResidentAdapter
from inference.row_bags import consecutive_row_bags

# Adapters with at most this many tokens in a step (decodes of all but the most popular adapters) are
# done token by token in the batched bags; an adapter with more (a prompt) gets its own matmul pair, whose
# fixed cost is then worth it. Rows read again for a second token of the same adapter are cache-hot.
BAG_MAX_TOKENS = 8
# Fewer bagged tokens than this in all are not worth setting the bags up for: they take the matmuls.
BAG_MIN_TOKENS = 2


@dataclass(frozen=True)
class AdapterGroup:
    """One resident adapter's tokens in the step: its sequences' spans of the flat layout, in order."""

    adapter: ResidentAdapter
    spans: tuple[tuple[int, int], ...]  # (start, end) in the flat step layout

    @property
    def num_tokens(self) -> int:
        return sum(end - start for start, end in self.spans)

    def tokens(self) -> list[int]:
        """Its flat token indices, in order."""
        return [token for start, end in self.spans for token in range(start, end)]


@dataclass(frozen=True)
class Segment:
    """One adapter's range [start, end) of the adapter-ordered tokens and the pool rows it reads, at its
    real rank (a slice when its rows are one contiguous run)."""

    start: int
    end: int
    rows: torch.Tensor | slice


@dataclass(frozen=True)
class _SharedInputs:
    """What a layer input gave: recognised by identity (see `LoraBatch.inputs`)."""

    x: torch.Tensor
    grouped: bool
    bag_weights: torch.Tensor | None
    segment_inputs: torch.Tensor | None


def group_by_adapter(
    token_counts: Sequence[int], adapters: Sequence[ResidentAdapter | None]
) -> list[AdapterGroup]:
    """The step's adapters in order of first use, each with its spans (sequence i has token_counts[i]
    tokens, using adapters[i]; None: the base model, in no group)."""
    spans: dict[tuple[str, int], list[tuple[int, int]]] = {}
    resident: dict[tuple[str, int], ResidentAdapter] = {}
    offset = 0
    for count, adapter in zip(token_counts, adapters, strict=True):
        if adapter is not None:
            resident.setdefault(adapter.key, adapter)
            spans.setdefault(adapter.key, []).append((offset, offset + count))
        offset += count
    return [AdapterGroup(resident[key], tuple(key_spans)) for key, key_spans in spans.items()]


@dataclass
class LoraBatch:
    """Step metadata shared by every layer: which flattened tokens use which resident adapter.

    The adapter-ordered tokens are the bagged adapters' tokens first, then each other adapter's tokens;
    `token_idx` maps them to the flat step layout (None when it is exactly [0, N))."""

    num_lora_tokens: int
    token_idx: torch.Tensor | None
    active_layers: frozenset[int]
    segments: list[Segment]  # per adapter, in adapter order
    num_bagged: int = 0  # the first num_bagged adapter-ordered tokens go through the bags in narrow layers
    num_bagged_segments: int = 0  # ... and they are the first num_bagged_segments segments
    bag_rows: torch.Tensor | None = None  # per bagged token, all rows (whole pages) of its adapter, in order
    bag_offsets: torch.Tensor | None = None  # where each token's rows start in bag_rows
    bag_pages: torch.Tensor | None = None  # per bagged token, its adapter's row pages, in the same order
    page_token: torch.Tensor | None = None  # for each of those pages, the flat index of its token
    dora_tokens: torch.Tensor | None = None  # flat indices of the tokens of DoRA adapters
    dora_slots: torch.Tensor | None = None  # ... and, per such token, its adapter's `dora_scale` row
    dora_layers: frozenset[int] = frozenset()  # layers some DoRA adapter of the step targets
    _a_bags: dict[int, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)  # in -> bags
    _shared: _SharedInputs | None = None  # the last layer input and what was derived from it

    @property
    def has_bags(self) -> bool:
        return self.bag_rows is not None

    def a_bags(self, in_features: int) -> tuple[torch.Tensor, torch.Tensor]:
        """`embedding_bag` indices and offsets into a layer's AT_pages [pages * in, page_rows]: one bag
        of `in` rows per page of the bagged tokens (built once per step per input width)."""
        bags = self._a_bags.get(in_features)
        if bags is None:
            bags = self._a_bags[in_features] = consecutive_row_bags(self.bag_pages * in_features, in_features)
        return bags

    def inputs(
        self, flat_x: torch.Tensor, x: torch.Tensor, grouped: bool
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """(bag weights of the bagged pages, inputs of the matmul segments) for this layer input.
        Projections that read the same input (q/k/v, gate/up) share them: they are derived once per
        input tensor, recognised by identity (inference tensors have no version counter; the model code
        hands its siblings one tensor and does not write to it in between)."""
        shared = self._shared
        if shared is not None and shared.x is x and shared.grouped == grouped:
            return shared.bag_weights, shared.segment_inputs
        start = self.num_bagged if grouped else 0
        weights = None
        if grouped:
            weights = flat_x.index_select(0, self.page_token).view(-1)  # each page's token, repeated
        if start == self.num_lora_tokens:
            rest = None
        elif self.token_idx is None:
            rest = flat_x[start : self.num_lora_tokens]
        else:
            rest = flat_x.index_select(0, self.token_idx[start:])
        self._shared = _SharedInputs(x, grouped, weights, rest)
        return weights, rest

    @staticmethod
    def build(
        token_counts: Sequence[int],
        adapters: Sequence[ResidentAdapter | None],
        device: torch.device,
        *,
        bag_max_tokens: int = BAG_MAX_TOKENS,
        bag_min_tokens: int = BAG_MIN_TOKENS,
    ) -> LoraBatch | None:
        """From the flattened step layout (sequence i has token_counts[i] tokens, using adapters[i]).

        Adapters with at most `bag_max_tokens` tokens in the step are bagged, unless they have fewer
        than `bag_min_tokens` in all; None when no token uses an adapter."""
        groups = group_by_adapter(token_counts, adapters)
        if not groups:
            return None
        bagged = [group for group in groups if group.num_tokens <= bag_max_tokens]
        if sum(group.num_tokens for group in bagged) < bag_min_tokens:
            bagged = []
        others = [group for group in groups if group.num_tokens > bag_max_tokens] if bagged else groups
        order: list[int] = []
        segments = []  # the bagged adapters' first: layers that do not bag them use these
        for group in bagged + others:
            before = len(order)
            order.extend(group.tokens())
            adapter = group.adapter
            rows: torch.Tensor | slice = (
                slice(adapter.row_start, adapter.row_start + adapter.rank)
                if adapter.row_start is not None
                else adapter.rows[: adapter.rank]
            )
            segments.append(Segment(before, len(order), rows))
        n = len(order)
        token_idx = None if order == list(range(n)) else torch.tensor(order, device=device)
        active = frozenset().union(*(group.adapter.targets for group in groups))
        batch = LoraBatch(n, token_idx, active, segments)
        dora = [group for group in groups if group.adapter.dora_slot is not None]
        if dora:
            tokens = [token for group in dora for token in group.tokens()]
            slots = [group.adapter.dora_slot for group in dora for _ in range(group.num_tokens)]
            batch.dora_tokens = torch.tensor(tokens, device=device)
            batch.dora_slots = torch.tensor(slots, device=device)
            batch.dora_layers = frozenset().union(*(group.adapter.targets for group in dora))
        if bagged:
            per_token = [group.adapter for group in bagged for _ in range(group.num_tokens)]
            batch.num_bagged = len(per_token)
            batch.num_bagged_segments = len(bagged)
            batch.bag_rows = torch.cat([adapter.rows for adapter in per_token]).to(device)
            sizes = [len(adapter.rows) for adapter in per_token]
            batch.bag_offsets = torch.tensor([0, *sizes[:-1]]).cumsum(0).to(device)
            batch.bag_pages = torch.cat([adapter.pages for adapter in per_token]).to(device)
            batch.page_token = torch.tensor(
                [
                    token
                    for token, adapter in zip(order[: len(per_token)], per_token, strict=True)
                    for _ in range(len(adapter.pages))
                ],
                device=device,
            )
        return batch
