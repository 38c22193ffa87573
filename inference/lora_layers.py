"""Batched multi-LoRA layers: one base matmul for the whole batch, plus each token's own adapter delta.

Every targeted Linear (or GPT-2 Conv1D) is replaced by a `MultiLoraLayer` that keeps the base module
untouched (weights are never merged, the model is never copied per adapter) and adds

    delta[t] = (x[t] @ A_s.T) @ (scaling_s * B_s).T        for token t of a request using adapter s

Adapter weights live in per-layer *row pools* (the device tier of the adapter cache): `A_pool[R, in]` and
`BT_pool[R, out]`, where an adapter of rank r owns ceil(r / page_rows) pages of rows, the same rows in
every layer. Rows of a layer an adapter does not target are zero, so mixing adapters with different
target modules and ranks in one batch is exact. Row page 0 is all zeros and pads ranks in a batch.

The delta is computed SGMV-style from a `LoraBatch` built once per step and shared by all layers.
Tokens are ordered by adapter; then
  * the tokens of adapters with few tokens in the step (decodes: with many adapters, most requests in a
    batch use an adapter few others use) are done together BGMV-style, in narrow layers, token by token,
    by two `embedding_bag` sums that read each adapter's own rows in place: x @ A^T page by page from a
    page-transposed copy of A (`AT_pages`), then the weighted sum of its B^T rows;
  * adapters with many tokens (prompts being prefilled, very popular adapters) get one pair of matmuls
    each on their contiguous token segment, reading their rows in place at their real rank.
Requests without an adapter are simply not in any group: zero delta, no work. Projections that read the
same input (q/k/v, gate/up) gather what they need from it once per step.

DoRA adapters (PEFT's `use_dora=True`) serve the weight m * (W + s B A) / ||W + s B A|| (norm per output
feature, i.e. per row of W [out, in]). Since W, A, B and m are fixed at inference, the per-output factor
g = m / ||W + s B A|| is computed once per adapter load (`dora_scale`) and kept per layer in `dora_scale`
(one row per DoRA adapter, at its first page); a DoRA token then gets PEFT's output

    out[t] = bias + g_s * (x[t] W^T + delta[t])

by one gather / scale / scatter over the step's DoRA tokens after the usual delta (`_rescale_dora`). LoRA
and base tokens of the same batch are untouched. `dora_reference` is the plain formula (the merged weight,
per call), which the optimised path is tested against.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from inference.row_bags import consecutive_row_bags

# Linear-like modules of decoder layers that PEFT commonly targets, per architecture family.
DEFAULT_TARGETS: tuple[str, ...] = (
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",  # Llama, Qwen2, Mistral, Gemma
    "c_attn",
    "c_proj",
    "c_fc",  # GPT-2 (Conv1D)
)


def linear_shape(module: nn.Module) -> tuple[int, int] | None:
    """(in_features, out_features) of a Linear or a GPT-2 Conv1D (whose weight is stored [in, out])."""
    if isinstance(module, nn.Linear):
        return module.in_features, module.out_features
    if type(module).__name__ == "Conv1D" and hasattr(module, "nf"):
        return module.weight.shape[0], module.weight.shape[1]
    return None


def is_lora_target(path: str, target_names: Iterable[str] | None = None) -> bool:
    """Whether a (Linear-like) module at `path` gets a LoRA slot: its last name is a target, never lm_head."""
    return path.rsplit(".", 1)[-1] in set(target_names or DEFAULT_TARGETS) and "lm_head" not in path


def find_lora_targets(model: nn.Module, target_names: Iterable[str] | None = None) -> dict[str, nn.Module]:
    """Module path -> Linear/Conv1D for every module whose last name is a target (never lm_head)."""
    names = set(target_names or DEFAULT_TARGETS)
    found = {}
    for path, module in model.named_modules():
        if is_lora_target(path, names) and linear_shape(module) is not None:
            found[path] = module
    return found


def dense_weight(module: nn.Module) -> torch.Tensor:
    """The weight of a Linear or GPT-2 Conv1D as [out, in] floats (a 4/8-bit base dequantized)."""
    if type(module).__name__ == "Conv1D":
        return module.weight.T
    weight = module.weight
    if weight.is_floating_point():
        return weight
    from peft.utils.integrations import dequantize_module_weight  # bitsandbytes layouts

    return dequantize_module_weight(module)


def dora_scale(
    weight: torch.Tensor, a_weight: torch.Tensor, bt_weight: torch.Tensor, magnitude: torch.Tensor
) -> torch.Tensor:
    """DoRA's per-output-feature factor g = m / ||W + s B A||, the norm over each row of W [out, in],
    in float32 on W's device (PEFT's `get_weight_norm`; detached, as PEFT does: this is inference)."""
    device = weight.device
    adapted = weight.float() + bt_weight.to(device, torch.float32).T @ a_weight.to(device, torch.float32)
    return magnitude.to(device, torch.float32) / torch.linalg.norm(adapted, dim=1)


def dora_reference(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    a_weight: torch.Tensor,
    bt_weight: torch.Tensor,
    magnitude: torch.Tensor,
) -> torch.Tensor:
    """The plain DoRA output for x [n, in]: merge W' = m * (W + s B A) / ||W + s B A||_row and apply it
    (float32). B^T comes scaled, as served. Slow and obvious: what the batched path is tested against."""
    adapted = weight.float() + bt_weight.float().T @ a_weight.float()
    merged = magnitude.float().unsqueeze(1) * adapted / torch.linalg.norm(adapted, dim=1, keepdim=True)
    out = x.float() @ merged.T
    return out if bias is None else out + bias.float()


# Layers wider than this (in + out) read each adapter's rows in place instead of gathering them for one
# bmm: the gather's memory traffic grows with the width, so past it the in-place matmuls are the faster
# (measured: docs/engine-benchmark-history.md).
GROUPED_MAX_WIDTH = 1024


def pool_floats_per_row(in_features: int, out_features: int) -> int:
    """What one pool row of a layer costs, in elements: A and B^T rows, plus the page-transposed copy of
    A (`AT_pages`) that narrow layers keep for the batched path."""
    narrow = in_features + out_features <= GROUPED_MAX_WIDTH
    return in_features + out_features + (in_features if narrow else 0)


@dataclass(frozen=True)
class ResidentAdapter:
    """An adapter copied into the row pools: which rows it owns and which layers it really targets."""

    key: tuple[str, int]
    rank: int
    rows: torch.Tensor  # long [padded_rank]: its rows in every pool (first `rank` are real, rest zero)
    row_start: int | None  # when `rows` is one contiguous run, its start (lets layers slice, not gather)
    targets: frozenset[int]  # ids of the layers it has weights for
    page_rows: int = 8  # rows per page of the pools (its rows are whole pages)
    dora_slot: int | None = None  # DoRA adapters: its row of the layers' `dora_scale` (its first page)
    pages: torch.Tensor = field(init=False, repr=False, compare=False)  # its row pages, for BGMV bags

    def __post_init__(self) -> None:
        object.__setattr__(self, "pages", self.rows[:: self.page_rows] // self.page_rows)


# Adapters with at most this many tokens in a step (decodes of all but the most popular adapters) are
# done token by token in the batched bags; an adapter with more (a prompt) gets its own matmul pair, whose
# fixed cost is then worth it. Rows read again for a second token of the same adapter are cache-hot.
BAG_MAX_TOKENS = 8


@dataclass
class LoraBatch:
    """Step metadata shared by every layer: which flattened tokens use which resident adapter.

    The adapter-ordered tokens are the bagged adapters' tokens first (adapters with few tokens in the
    step, see BAG_MAX_TOKENS), then each other adapter's tokens; `token_idx` maps them to the flat step
    layout (None when it is exactly [0, N))."""

    num_lora_tokens: int
    token_idx: torch.Tensor | None
    active_layers: frozenset[int]
    # per adapter: its range in the adapter-ordered tokens, and its rows (at its real rank)
    segments: list[tuple[int, int, torch.Tensor | slice]]
    num_bagged: int = 0  # the first num_bagged adapter-ordered tokens go through the bags in narrow layers
    num_bagged_segments: int = 0  # ... and they are the first num_bagged_segments segments
    bag_rows: torch.Tensor | None = None  # per bagged token, all rows (whole pages) of its adapter, in order
    bag_offsets: torch.Tensor | None = None  # where each token's rows start in bag_rows
    bag_pages: torch.Tensor | None = None  # per bagged token, its adapter's row pages, in the same order
    page_token: torch.Tensor | None = None  # for each of those pages, the flat index of its token
    _a_bags: dict = field(default_factory=dict)  # in_features -> (indices, offsets) into AT_pages
    _shared: tuple | None = None  # the last layer input and what was derived from it (see `inputs`)
    grouped_max_width: int = GROUPED_MAX_WIDTH
    dora_tokens: torch.Tensor | None = None  # flat indices of the tokens of DoRA adapters
    dora_slots: torch.Tensor | None = None  # ... and, per such token, its adapter's `dora_scale` row
    dora_layers: frozenset[int] = frozenset()  # layers some DoRA adapter of the step targets

    def use_grouped(self, in_features: int, out_features: int) -> bool:
        """Batched bags for the bagged tokens of narrow layers, where they read rows in place."""
        return self.bag_rows is not None and in_features + out_features <= self.grouped_max_width

    def a_bags(self, in_features: int) -> tuple[torch.Tensor, torch.Tensor]:
        """`embedding_bag` indices and offsets into a layer's AT_pages [pages * in, page_rows]: one bag
        of `in` rows per page of the bagged tokens (built once per step per input width)."""
        bags = self._a_bags.get(in_features)
        if bags is None:
            bags = self._a_bags[in_features] = consecutive_row_bags(self.bag_pages * in_features, in_features)
        return bags

    def inputs(self, flat_x: torch.Tensor, x: torch.Tensor, grouped: bool) -> tuple:
        """(bag weights of the bagged pages, inputs of the matmul segments) for this layer input.
        Projections that read the same input (q/k/v, gate/up) share them: they are derived once per
        input tensor, recognised by identity (inference tensors have no version counter; the model code
        hands its siblings one tensor and does not write to it in between)."""
        shared = self._shared
        if shared is not None and shared[0] is x and shared[1] == grouped:
            return shared[2], shared[3]
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
        self._shared = (x, grouped, weights, rest)
        return weights, rest

    @staticmethod
    def build(
        token_counts: Sequence[int],
        adapters: Sequence[ResidentAdapter | None],
        device: torch.device,
        mode: str | None = None,
    ) -> LoraBatch | None:
        """From the flattened step layout (sequence i has token_counts[i] tokens, using adapters[i]).

        `mode` forces "grouped" (bag every adapter's tokens in every layer) or "segmented" (never bag),
        for tests.
        """
        groups: dict[tuple[str, int], list] = {}  # key -> [adapter, token count, (start, end), ...]
        offset = 0
        for count, adapter in zip(token_counts, adapters, strict=True):
            if adapter is not None:
                entry = groups.get(adapter.key)
                if entry is None:
                    groups[adapter.key] = [adapter, count, (offset, offset + count)]
                else:
                    entry[1] += count
                    entry.append((offset, offset + count))
            offset += count
        if not groups:
            return None
        limit = {"grouped": 1 << 62, "segmented": 0}.get(mode, BAG_MAX_TOKENS)
        bagged = [entry for entry in groups.values() if entry[1] <= limit]
        if sum(entry[1] for entry in bagged) < 2 and mode != "grouped":  # one bag is not worth its setup
            bagged = []
        others = [entry for entry in groups.values() if entry[1] > limit] if bagged else list(groups.values())
        order: list[int] = []
        segments = []  # the bagged adapters' first: layers that do not bag them use these
        for adapter, _count, *spans in bagged + others:
            before = len(order)
            for start, end in spans:
                order.extend(range(start, end))
            rows: torch.Tensor | slice = (
                slice(adapter.row_start, adapter.row_start + adapter.rank)
                if adapter.row_start is not None
                else adapter.rows[: adapter.rank]
            )
            segments.append((before, len(order), rows))
        n = len(order)
        token_idx = None if order == list(range(n)) else torch.tensor(order, device=device)
        active = frozenset().union(*(entry[0].targets for entry in groups.values()))
        batch = LoraBatch(n, token_idx, active, segments)
        dora = [entry for entry in groups.values() if entry[0].dora_slot is not None]
        if dora:
            tokens: list[int] = []
            slots: list[int] = []
            for adapter, _count, *spans in dora:
                for start, end in spans:
                    tokens.extend(range(start, end))
                    slots.extend([adapter.dora_slot] * (end - start))
            batch.dora_tokens = torch.tensor(tokens, device=device)
            batch.dora_slots = torch.tensor(slots, device=device)
            batch.dora_layers = frozenset().union(*(entry[0].targets for entry in dora))
        if bagged:
            per_token = [entry[0] for entry in bagged for _ in range(entry[1])]
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
            if mode == "grouped":
                batch.grouped_max_width = 1 << 62
        return batch


class LoraContext:
    """The mutable "current step" holder that the runner sets and every layer reads."""

    def __init__(self) -> None:
        self.batch: LoraBatch | None = None


class MultiLoraLayer(nn.Module):
    """A base Linear/Conv1D plus the LoRA row pools it reads; adds each token's adapter delta."""

    def __init__(
        self,
        base: nn.Module,
        layer_id: int,
        num_rows: int,
        context: LoraContext,
        dtype: torch.dtype | None = None,
        page_rows: int = 8,
    ) -> None:
        super().__init__()
        shape = linear_shape(base)
        assert shape is not None, f"cannot wrap {type(base).__name__}"
        self.base = base
        self.layer_id = layer_id
        self.in_features, self.out_features = shape
        self.context = context
        weight = base.weight
        dtype = dtype or weight.dtype  # a 4/8-bit base stores integers: pools use the compute dtype instead
        self.register_buffer(
            "A_pool", torch.zeros(num_rows, self.in_features, dtype=dtype, device=weight.device)
        )
        self.register_buffer(
            "BT_pool", torch.zeros(num_rows, self.out_features, dtype=dtype, device=weight.device)
        )
        # narrow layers also keep A page-transposed, AT_pages[p * in + i, j] = A_pool[p * page_rows + j, i],
        # so that the batched path reads A rows in place with `embedding_bag` (see _grouped)
        self.page_rows = page_rows
        narrow = (
            pool_floats_per_row(self.in_features, self.out_features) > self.in_features + self.out_features
        )
        at_pages = None
        if narrow:
            at_pages = torch.zeros(
                num_rows // page_rows * self.in_features, page_rows, dtype=dtype, device=weight.device
            )
        self.register_buffer("AT_pages", at_pages)
        # DoRA factors g [out] per DoRA adapter, at its first page; allocated (to ones) by the first DoRA
        # adapter written here, so an engine serving none pays nothing
        self.register_buffer("dora_scale", None)

    def write(
        self, rows: torch.Tensor, a_weight: torch.Tensor | None, bt_weight: torch.Tensor | None
    ) -> None:
        """Write one adapter's A [r, in] and scaled B^T [r, out] into `rows` (whole pages, in order),
        zero past its rank or everywhere when it does not target this layer, and its AT_pages from the
        same padded copy."""
        count = len(rows)
        assert count % self.page_rows == 0, "adapters own whole pages of rows"
        a_rows = self.A_pool.new_zeros(count, self.in_features)
        bt_rows = self.BT_pool.new_zeros(count, self.out_features)
        if a_weight is not None:
            a_rows[: len(a_weight)] = a_weight
            bt_rows[: len(bt_weight)] = bt_weight
        self.A_pool.index_copy_(0, rows, a_rows)
        self.BT_pool.index_copy_(0, rows, bt_rows)
        if self.AT_pages is not None:
            pages = rows[:: self.page_rows] // self.page_rows
            at_pages = self.AT_pages.view(-1, self.in_features, self.page_rows)
            at_pages.index_copy_(0, pages, a_rows.view(-1, self.page_rows, self.in_features).transpose(1, 2))

    def write_dora(self, slot: int, scale: torch.Tensor | None) -> None:
        """Set a DoRA adapter's factors g [out] for this layer (ones where it does not target it)."""
        if self.dora_scale is None:
            if scale is None:
                return  # no DoRA adapter targets this layer yet: nothing reads a factor here
            pages = self.A_pool.shape[0] // self.page_rows
            with torch.inference_mode(False):  # a normal tensor, writable whichever mode later writes run in
                self.dora_scale = torch.ones(pages, self.out_features, device=self.A_pool.device)
        self.dora_scale[slot] = 1.0 if scale is None else scale.to(self.dora_scale.device, torch.float32)

    @property
    def weight(self) -> torch.Tensor:  # some model code reads `.weight` of its projections (dtype checks)
        return self.base.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.base(x)
        batch = self.context.batch
        if batch is None or self.layer_id not in batch.active_layers:
            return out
        flat_out = out.view(-1, self.out_features)
        self._add(flat_out, batch, self._deltas(x, batch))
        if batch.dora_tokens is not None and self.layer_id in batch.dora_layers:
            self._rescale_dora(flat_out, batch)
        return out

    def _deltas(self, x: torch.Tensor, batch: LoraBatch) -> torch.Tensor:
        """Each adapter token's delta, in adapter order."""
        flat_x = x.reshape(-1, self.in_features)
        grouped = self.AT_pages is not None and batch.use_grouped(self.in_features, self.out_features)
        weights, rest = batch.inputs(flat_x, x, grouped)
        segments = batch.segments
        first = 0
        if grouped:
            bagged = self._grouped(weights, batch)
            segments = segments[batch.num_bagged_segments :]
            first = batch.num_bagged
            if not segments:  # every adapter token was bagged (a decode-only step): no delta buffer
                return bagged
        delta = flat_x.new_empty(batch.num_lora_tokens, self.out_features)
        if grouped:
            delta[:first] = bagged
        for start, end, rows in segments:
            if isinstance(rows, slice):
                a_weights, b_weights = self.A_pool[rows], self.BT_pool[rows]
            else:
                a_weights, b_weights = self.A_pool.index_select(0, rows), self.BT_pool.index_select(0, rows)
            torch.mm(rest[start - first : end - first] @ a_weights.T, b_weights, out=delta[start:end])
        return delta

    def _rescale_dora(self, flat_out: torch.Tensor, batch: LoraBatch) -> None:
        """DoRA tokens: out = bias + g * (x W^T + delta), with their adapter's precomputed g (float32)."""
        scale = self.dora_scale.index_select(0, batch.dora_slots)
        rows = flat_out.index_select(0, batch.dora_tokens).float()
        bias = getattr(self.base, "bias", None)
        if bias is None:
            rows.mul_(scale)
        else:
            bias = bias.float()
            rows.sub_(bias).mul_(scale).add_(bias)
        flat_out.index_copy_(0, batch.dora_tokens, rows.to(flat_out.dtype))

    @staticmethod
    def _add(flat_out: torch.Tensor, batch: LoraBatch, delta: torch.Tensor) -> None:
        """Add the adapter-ordered deltas to their tokens' outputs."""
        if batch.token_idx is None:
            flat_out[: len(delta)] += delta
        else:
            flat_out.index_add_(0, batch.token_idx, delta)

    def _grouped(self, weights: torch.Tensor, batch: LoraBatch) -> torch.Tensor:
        """BGMV for the bagged tokens, every row read in place by two `embedding_bag` sums:
        A side, per page of rows, sum_i x[i] * AT_pages[page * in + i] = the page's values of x @ A^T;
        B side, per token, sum_j low[j] * BT_pool[row_j]. No gathers, no padding to the largest rank."""
        indices, offsets = batch.a_bags(self.in_features)
        low_rank = F.embedding_bag(indices, self.AT_pages, offsets, mode="sum", per_sample_weights=weights)
        return F.embedding_bag(
            batch.bag_rows, self.BT_pool, batch.bag_offsets, mode="sum", per_sample_weights=low_rank.view(-1)
        )


class MultiLoraModel:
    """The set of wrapped layers of one base model, addressable by module path, sharing one context."""

    def __init__(self, layers: dict[str, MultiLoraLayer], context: LoraContext, num_rows: int) -> None:
        self.layers = layers
        self.context = context
        self.num_rows = num_rows
        self.layer_ids = {path: layer.layer_id for path, layer in layers.items()}

    def bytes_per_row(self) -> int:
        """What one rank-row costs across all pools: the unit of the device-tier budget."""
        return sum(
            pool_floats_per_row(layer.in_features, layer.out_features) * layer.A_pool.element_size()
            for layer in self.layers.values()
        )

    def write_rows(
        self,
        rows: torch.Tensor,
        weights: dict[str, tuple[torch.Tensor, torch.Tensor]],
        dora_scales: dict[str, torch.Tensor] | None = None,
        dora_slot: int | None = None,
    ) -> None:
        """Copy an adapter's (A [r, in], scaled B^T [r, out]) into its rows; zero them where untargeted.
        A DoRA adapter also gets its factors (`dora_scales`, see `dora_scales`) at `dora_slot`."""
        for path, layer in self.layers.items():
            a_weight, bt_weight = weights.get(path, (None, None))
            layer.write(rows, a_weight, bt_weight)
            if dora_slot is not None:
                layer.write_dora(dora_slot, (dora_scales or {}).get(path))

    def dora_scales(
        self, weights: dict[str, tuple[torch.Tensor, torch.Tensor]], magnitudes: dict[str, torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        """A DoRA adapter's factors g = m / ||W + s B A|| per module (float32, on the CPU), from this
        model's base weights: computed once per load, copied at each device write."""
        with torch.no_grad():
            return {
                path: dora_scale(dense_weight(self.layers[path].base), *weights[path], magnitude).cpu()
                for path, magnitude in magnitudes.items()
            }


def attach_multi_lora(
    model: nn.Module,
    num_rows: int,
    target_names: Iterable[str] | None = None,
    dtype: torch.dtype | None = None,
    page_rows: int = 8,
) -> MultiLoraModel:
    """Replace every target module of `model` in place by a MultiLoraLayer with `num_rows` pool rows."""
    context = LoraContext()
    layers: dict[str, MultiLoraLayer] = {}
    for layer_id, (path, module) in enumerate(find_lora_targets(model, target_names).items()):
        parent_path, _, child = path.rpartition(".")
        parent = model.get_submodule(parent_path) if parent_path else model
        wrapped = MultiLoraLayer(module, layer_id, num_rows, context, dtype, page_rows)
        setattr(parent, child, wrapped)
        layers[path] = wrapped
    if not layers:
        raise ValueError("no LoRA target modules found in the base model; pass lora_targets explicitly")
    return MultiLoraModel(layers, context, num_rows)
