"""Batched multi-LoRA layers: one base matmul for the whole batch, plus each token's own adapter delta.

Every targeted Linear (or GPT-2 Conv1D) is replaced by a `MultiLoraLayer` that keeps the base module
untouched (weights are never merged, the model is never copied per adapter) and adds

    delta[t] = (x[t] @ A_s.T) @ (scaling_s * B_s).T        for token t of a request using adapter s

Adapter weights live in per-layer *row pools* (the device tier of the adapter cache): `A_pool[R, in]` and
`BT_pool[R, out]`, where an adapter of rank r owns ceil(r / page_rows) pages of rows (`PAGE_ROWS` rows
unless the engine is told otherwise), the same rows in every layer. Rows of a layer an adapter does not
target are zero, so mixing adapters with different target modules and ranks in one batch is exact. Row
page 0 is all zeros and pads ranks in a batch.

The delta is computed SGMV-style from a `LoraBatch` (`lora_batch.py`) built once per step and shared by
all layers. Tokens are ordered by adapter; then
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

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:
    from inference.lora_batch import LoraBatch

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

# Rows per page of the pools: an adapter owns whole pages (its rank rounded up), and the batched path
# reads A page by page, so wider pages mean fewer bags per token but more zero rows for small ranks.
PAGE_ROWS = 16


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
    page_rows: int = PAGE_ROWS  # rows per page of the pools (its rows are whole pages)
    dora_slot: int | None = None  # DoRA adapters: its row of the layers' `dora_scale` (its first page)
    pages: torch.Tensor = field(init=False, repr=False, compare=False)  # its row pages, for BGMV bags

    def __post_init__(self) -> None:
        object.__setattr__(self, "pages", self.rows[:: self.page_rows] // self.page_rows)


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
        page_rows: int = PAGE_ROWS,
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
        grouped = self.AT_pages is not None and batch.has_bags  # narrow layers bag the bagged tokens
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
        for segment in segments:
            start, end, rows = segment.start, segment.end, segment.rows
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
    page_rows: int = PAGE_ROWS,
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
