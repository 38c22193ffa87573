"""Per-example projected gradients of a LoRA adapter's loss ("gradient sketches"), LoGra-style.

Why the margin rather than the loss: an answer's facts are the tokens an adapter has learnt by heart, and
the loss gradient of a token fades as 1 - p once it is learnt, leaving a row's and an answer's gradients
mostly about what stays uncertain (a template every row shares). TRAK's output function, the margin
log(p / (1 - p)), keeps each token's direction at full size; on the canary benchmark (docs/attribution.md)
it lifted gradient top-1 on the model's own answers from 5% to 85% on the same sketches' adapter.

Why LoRA gradients: an adapter *is* what its training rows changed, and its parameters are the only ones
that moved. Influence of a training row on an answer is approximated (TRAK / influence functions) by the
inner product of the row's loss gradient and the answer's loss gradient, preconditioned by the curvature;
restricting both to the adapter's parameters is exact about what training could change and makes the
gradients small (r·(in+out) numbers per layer instead of in·out).

Why LoGra's two-sided projection: even LoRA gradients are too big to keep per row (a 7B rank-16 adapter on
all linear layers has ~40M parameters). A LoRA layer is two linear maps, and the gradient of a linear map
summed over tokens is a sum of outer products, dL/dA = Σ_t g_z_t x_tᵀ (r×in) and dL/dB = Σ_t g_y_t z_tᵀ
(out×r), with x the layer input, z = A x, g_z = dL/dz and g_y = dL/d(B z). Projecting the wide side of
each with a Gaussian matrix (P_in: k×in, P_out: k×out) gives Σ_t g_z_t (P_in x_t)ᵀ (r×k) and
Σ_t (P_out g_y_t) z_tᵀ (k×r) straight from the activations and output gradients that forward/backward
hooks see, with an einsum over tokens per example: no per-example gradient of size r×in is ever formed,
and the whole batch shares one backward pass. The per-module projections (2·r·k numbers each) are then
concatenated in module-name order and mapped to `sketch_dim` by a dense seeded Gaussian (JL) projection,
so a row's sketch has a fixed size whatever the adapter's ranks and targets.

Why per-module weights: the modules' gradients differ in size by over an order of magnitude (40× in the
tiny test Llama; value and output projections dominate), and a dense projection of the raw concatenation
is then mostly about those few modules. Before the final projection, each module's projected gradient is
multiplied by a weight calibrated on the first training rows (`calibrated_module_weights`: one scalar
Fisher block per module, DataInf-style) and stored with the sketches, so that queries are weighted the
same way. On the retrieval benchmark of influence.py this raised near-duplicate top-1 from 75% to 94%
(preconditioned scoring).

DoRA adapters (PEFT `use_dora=True`) are sketched the same way, from their A and B: PEFT detaches
DoRA's weight norm, so those gradients are exact; the magnitude vector's gradient is left out, so the
sketch is that of the low-rank update's gradient (see `lora_linear_layers`).

Costs: sketching a row is one forward and one backward pass of the model (the backward stops at the
LoRA activations: no base weight gradient is computed) plus O(T·(in+out)·k) per module for the
projections; storing it is `sketch_dim` float16 numbers (1 KiB at the default 512). A query is the
same one backward pass for the answer, then a [n, sketch_dim] matrix-vector product (see influence.py).
The projector holds k·(in+out) + sketch_dim·2·r·k floats per module: ~200 MB for a rank-16 adapter on
every linear layer of a 7B Llama at the defaults.

Every random matrix is regenerated from (seed, module name, role, shape) with a `torch.Generator` on the
CPU, so a projector built later (another process, another device) for the same adapter projects
identically; the final projection is generated in per-module column blocks R_m, so that
    sketch = Σ_m R_m · vec_m
is the dense projection of the concatenation without ever holding one matrix over all modules.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from peft.tuners.lora.layer import Linear as LoraLinear
from peft.tuners.lora.variants import DoraLinearVariant
from torch import nn

from inference.labelled_head import IGNORE_INDEX, labelled_logits, supports_labelled_head

if TYPE_CHECKING:
    from peft import PeftModel


@dataclass(frozen=True)
class SketchConfig:
    """How gradients are sketched; sketches can only be compared with queries made with the same config."""

    side_dim: int = 8  # k: LoGra projection size for each side (input and output) of every LoRA module
    sketch_dim: int = 512  # final size of a row's sketch (dense JL projection of all modules' projections)
    seed: int = 0
    output: str = "margin"  # whose gradient is sketched: TRAK's margin, or the token loss (`OUTPUTS`)

    def __post_init__(self) -> None:
        if self.output not in OUTPUTS:
            raise ValueError(f"output must be one of {', '.join(OUTPUTS)}, not {self.output!r}")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> SketchConfig:
        return cls(
            side_dim=int(d["side_dim"]),
            sketch_dim=int(d["sketch_dim"]),
            seed=int(d["seed"]),
            output=str(d.get("output", "loss")),  # sketches stored before the choice existed
        )


# "loss": each token's cross-entropy, -log p. Its gradient, (1 - p) times that of the logit margin,
# vanishes on tokens the adapter has learnt by heart, which are the facts an answer repeats.
# "margin": TRAK's output function log(p / (1 - p)) per token; its gradient is the loss gradient divided by
# (1 - p), so a memorised token keeps its full direction instead of fading with its loss.
OUTPUTS = ("loss", "margin")
# The most a token's loss gradient is scaled up for the margin: p up to 1 - 1e-4 (tokens closer to
# certainty than that are taken as 1e4, so one token cannot drown the rest of the answer).
MARGIN_MAX_SCALE = 1e4


def lora_linear_layers(model: nn.Module, adapter: str) -> list[tuple[str, LoraLinear]]:
    """The LoRA-wrapped linear layers (nn.Linear or GPT-2 Conv1D bases) carrying `adapter`, by name.

    Plain LoRA and DoRA (PEFT `use_dora=True`) layers are sketched; any other PEFT LoRA variant is refused
    by name. Under DoRA a layer adds (m/‖W + s·B·A‖_c − 1)·W x + (m/‖W + s·B·A‖_c)·s·B(A x), and PEFT
    detaches the column norm (DoRA paper §4.3), so A's and B's gradients flow only through the
    `lora_B(lora_A(x))` call the hooks see, the factor m/‖·‖ included in g_y: the sketched A/B gradients
    are exact. (PEFT's other call, `lora_B(lora_A(I))` for the norm, gets no gradient and adds nothing:
    see `_a_hook`.) The magnitude vector m is trained too, but its gradient is not part of the sketch: a
    DoRA adapter's sketch is that of its low-rank update's gradient, a documented approximation."""
    layers = []
    for name, module in model.named_modules():
        if isinstance(module, LoraLinear) and adapter in module.lora_A:
            variant = module.lora_variant.get(adapter)
            if variant is not None and type(variant) is not DoraLinearVariant:
                raise ValueError(
                    f"{name}: the LoRA variant {type(variant).__name__} is not supported by gradient "
                    "sketches (plain LoRA and DoRA are)"
                )
            layers.append((name, module))
    if not layers:
        raise ValueError(f"the model has no LoRA linear layers for adapter {adapter!r}")
    return sorted(layers, key=lambda item: item[0])


def _active_adapter(model: PeftModel) -> str:
    active = model.active_adapter
    if isinstance(active, list | tuple):
        if len(active) != 1:
            raise ValueError(f"exactly one active adapter is needed, got {active}")
        active = active[0]
    return str(active)


def adapter_fingerprint(model: PeftModel) -> str:
    """sha256 over the active adapter's LoRA tensors (module names, shapes, float32 values) and scalings,
    and a DoRA adapter's magnitude vectors (plain LoRA fingerprints are unchanged by that).

    The adapter's own name is left out, so the same weights loaded under another name match."""
    adapter = _active_adapter(model)
    digest = hashlib.sha256()
    for name, layer in lora_linear_layers(model, adapter):
        digest.update(f"{name}|scaling={float(layer.scaling[adapter])!r}".encode())
        weights = [(side, getattr(layer, side)[adapter].weight) for side in ("lora_A", "lora_B")]
        if adapter in layer.lora_variant:  # DoRA (the only variant lora_linear_layers lets through)
            weights.append(("lora_magnitude_vector", layer.lora_magnitude_vector[adapter].weight))
        for side, tensor in weights:
            weight = tensor.detach().to("cpu", torch.float32).contiguous()
            digest.update(f"|{side}|{tuple(weight.shape)}|".encode())
            digest.update(weight.numpy().tobytes())
    return digest.hexdigest()


def seeded_gaussian(seed: int, name: str, role: str, shape: tuple[int, ...]) -> torch.Tensor:
    """A standard-normal float32 CPU tensor determined by (seed, name, role, shape) alone."""
    key = f"{seed}|{name}|{role}|{'x'.join(map(str, shape))}".encode()
    generator = torch.Generator(device="cpu")
    generator.manual_seed(int.from_bytes(hashlib.sha256(key).digest()[:8], "little") & ((1 << 63) - 1))
    return torch.randn(shape, generator=generator, dtype=torch.float32)


@dataclass
class ModuleProjection:
    """The random matrices of one LoRA module: P_in (k×in), P_out (k×out), and the module's column block
    of the final projection, final (sketch_dim × 2·r·k), applied to cat(vec(ΔA·P_inᵀ), vec(P_out·ΔB))."""

    name: str
    rank: int
    p_in: torch.Tensor
    p_out: torch.Tensor
    final: torch.Tensor

    @classmethod
    def generate(cls, config: SketchConfig, name: str, in_features: int, out_features: int, rank: int):
        """The module's matrices, kept once made: they depend on the config and the module's shape alone,
        so every query, and every adapter of a base model with the same ranks, shares them (drawing them
        again was a large part of each answer's attribution)."""
        return _module_projection(config, name, in_features, out_features, rank)

    @classmethod
    def draw(cls, config: SketchConfig, name: str, in_features: int, out_features: int, rank: int):
        k = config.side_dim
        scale_side, scale_final = k**-0.5, config.sketch_dim**-0.5
        return cls(
            name=name,
            rank=rank,
            p_in=seeded_gaussian(config.seed, name, "in", (k, in_features)) * scale_side,
            p_out=seeded_gaussian(config.seed, name, "out", (k, out_features)) * scale_side,
            final=seeded_gaussian(config.seed, name, "final", (config.sketch_dim, 2 * rank * k))
            * scale_final,
        )

    def to(self, device: torch.device) -> ModuleProjection:
        return ModuleProjection(
            self.name, self.rank, self.p_in.to(device), self.p_out.to(device), self.final.to(device)
        )


# About 0.5 MB a module at the defaults (the final block is sketch_dim x 2·r·k): two adapters' worth of a
# 30-layer model with seven LoRA modules a layer.
@lru_cache(maxsize=512)
def _module_projection(
    config: SketchConfig, name: str, in_features: int, out_features: int, rank: int
) -> ModuleProjection:
    return ModuleProjection.draw(config, name, in_features, out_features, rank)


class LoraGradientProjector:
    """Per-example projected LoRA gradients of a peft.PeftModel (LoRA adapters, the active one).

    module_weights (by module name; None: all 1) scale each module's projected gradient before the final
    projection: `influence.build_sketches` calibrates them, `GradientSketches.projector` passes them on to
    queries.
    While it exists, the model is in eval mode and only the active adapter's LoRA weights require grad
    (`close()` removes the hooks and restores both). The adapter is assumed frozen while the projector
    lives: `adapter_fingerprint` is taken when it is built."""

    def __init__(
        self, model: PeftModel, config: SketchConfig, module_weights: Mapping[str, float] | None = None
    ):
        self.model = model
        self.config = config
        self.adapter = _active_adapter(model)
        self.adapter_fingerprint = adapter_fingerprint(model)
        self._labelled_head = supports_labelled_head(model)
        layers = lora_linear_layers(model, self.adapter)
        self._was_training = model.training
        self._requires_grad = {param: param.requires_grad for param in model.parameters()}
        model.eval()
        for param in model.parameters():
            param.requires_grad_(False)
        self._lora_a_weights = []
        self.projections: list[ModuleProjection] = []
        self._handles = []
        device = layers[0][1].lora_A[self.adapter].weight.device
        for name, layer in layers:
            lora_a, lora_b = layer.lora_A[self.adapter], layer.lora_B[self.adapter]
            for weight in (lora_a.weight, lora_b.weight):
                weight.requires_grad_(True)
            self._lora_a_weights.append(lora_a.weight)
            projection = ModuleProjection.generate(
                config, name, lora_a.in_features, lora_b.out_features, lora_a.out_features
            ).to(device)
            self.projections.append(projection)
            self._handles.append(lora_a.register_forward_hook(self._a_hook(projection)))
            self._handles.append(lora_b.register_forward_hook(self._b_hook(projection)))
        self._mask: torch.Tensor | None = None  # [batch, tokens] bool while `project` runs, else None
        self._grads: dict[str, dict[str, torch.Tensor]] = {}
        self.module_weights: dict[str, float] = {}
        self.set_module_weights(module_weights)

    @property
    def module_names(self) -> list[str]:
        return [projection.name for projection in self.projections]

    def set_module_weights(self, weights: Mapping[str, float] | None) -> None:
        """Per-module factors applied before the final projection (None: all 1, the plain projection)."""
        if weights is None:
            weights = dict.fromkeys(self.module_names, 1.0)
        if set(weights) != set(self.module_names):
            raise ValueError("module weights must name exactly the adapter's LoRA modules")
        self.module_weights = {name: float(weights[name]) for name in self.module_names}

    @property
    def sketch_dim(self) -> int:
        return self.config.sketch_dim

    def _tokens(self, tensor: torch.Tensor) -> torch.Tensor:
        """[batch, tokens, features] float32 view of a hook tensor, with padded positions zeroed."""
        mask = self._mask
        tensor = tensor.float().reshape(mask.shape[0], -1, tensor.shape[-1])
        return tensor.masked_fill(~mask[:, :, None], 0.0)  # masked_fill (not *): NaN-safe

    def _accumulate(self, name: str, side: str, value: torch.Tensor) -> None:
        sides = self._grads.setdefault(name, {})
        sides[side] = sides[side] + value if side in sides else value

    # The forward hooks only keep their input; the projections are made in the gradient hooks, so a call
    # whose output gets no gradient adds nothing. DoRA makes such a call: PEFT's DoraLinearLayer computes
    # B·A as lora_B(lora_A(I)) for the (detached) weight norm, an input with no tokens or mask.
    def _a_hook(self, projection: ModuleProjection):
        def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
            if self._mask is None:
                return
            x = args[0].detach()  # autograd keeps x for lora_A's weight gradient anyway: no extra memory

            def on_grad(grad_z: torch.Tensor) -> None:  # Σ_t g_z_t (P_in x_t)ᵀ = ΔA · P_inᵀ
                projected_x = self._tokens(x) @ projection.p_in.T  # [b, t, k]
                self._accumulate(
                    projection.name, "A", torch.einsum("btr,btk->brk", self._tokens(grad_z), projected_x)
                )

            output.register_hook(on_grad)

        return hook

    def _b_hook(self, projection: ModuleProjection):
        def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
            if self._mask is None:
                return
            z_raw = args[0].detach()

            def on_grad(grad_y: torch.Tensor) -> None:  # Σ_t (P_out g_y_t) z_tᵀ = P_out · ΔB
                z = self._tokens(z_raw)  # [b, t, r]
                projected_g = self._tokens(grad_y) @ projection.p_out.T  # [b, t, k]
                self._accumulate(projection.name, "B", torch.einsum("btk,btr->bkr", projected_g, z))

            output.register_hook(on_grad)

        return hook

    def project(self, input_ids: list[list[int]], labels: list[list[int]]) -> torch.Tensor:
        """[batch, sketch_dim] float32: the sketch of each example's gradient of its own loss, the mean
        token cross-entropy over its label positions (labels != -100, shifted as in HF causal LMs).

        Examples are right-padded together; each example's sketch does not depend on its batch."""
        return self.combine(self.module_vectors(input_ids, labels))

    def module_vectors(self, input_ids: list[list[int]], labels: list[list[int]]) -> list[torch.Tensor]:
        """Per module (in `module_names` order), [batch, 2·r·k] float32: cat(vec(ΔA·P_inᵀ), vec(P_out·ΔB))
        of each example's LoRA gradients, before weighting and the final projection."""
        if len(input_ids) != len(labels) or not input_ids:
            raise ValueError("input_ids and labels must be non-empty lists of the same length")
        for ids, row_labels in zip(input_ids, labels, strict=True):
            if len(ids) != len(row_labels) or not ids:
                raise ValueError("every example needs as many labels as tokens, and at least one token")
        device = self._lora_a_weights[0].device
        batch, length = len(input_ids), max(map(len, input_ids))
        ids = torch.zeros(batch, length, dtype=torch.long)
        targets = torch.full((batch, length), IGNORE_INDEX, dtype=torch.long)
        mask = torch.zeros(batch, length, dtype=torch.bool)
        for row, (tokens, row_labels) in enumerate(zip(input_ids, labels, strict=True)):
            ids[row, : len(tokens)] = torch.tensor(tokens)
            targets[row, : len(tokens)] = torch.tensor(row_labels)
            mask[row, : len(tokens)] = True
        ids, targets, mask = ids.to(device), targets.to(device), mask.to(device)

        self._grads, self._mask = {}, mask
        try:
            with torch.inference_mode(False), torch.enable_grad():
                if self._labelled_head:  # the head only where a label is (see labelled_head.py)
                    logits, selected, rows = labelled_logits(self.model, ids, targets, mask.long())
                    token_losses = self._output(F.cross_entropy(logits, selected, reduction="none"))
                    counts = torch.bincount(rows, minlength=batch).clamp(min=1)
                    # Sum of per-example means: example i's gradient is that of its own loss alone.
                    total = (token_losses / counts[rows]).sum()
                else:
                    logits = self.model(input_ids=ids, attention_mask=mask.long(), use_cache=False).logits
                    shifted = targets[:, 1:]
                    predicted = logits[:, :-1].float().transpose(1, 2)  # [batch, vocab, tokens - 1]
                    token_losses = self._output(F.cross_entropy(predicted, shifted, reduction="none"))
                    counts = (shifted != IGNORE_INDEX).sum(dim=1).clamp(min=1)
                    total = (token_losses.sum(dim=1) / counts).sum()
                # Asking only for lora_A's weights still runs the backward through every LoRA activation
                # (each lora_B output lies on the path to its own lora_A), and skips all other weights.
                torch.autograd.grad(total, self._lora_a_weights, allow_unused=True)
            vectors = []
            k = self.config.side_dim
            for projection in self.projections:
                sides, r = self._grads.get(projection.name, {}), projection.rank
                grad_a = sides.get("A", torch.zeros(batch, r, k, device=device))
                grad_b = sides.get("B", torch.zeros(batch, k, r, device=device))
                vectors.append(torch.cat([grad_a.reshape(batch, -1), grad_b.reshape(batch, -1)], dim=1))
            return vectors
        finally:
            self._grads, self._mask = {}, None

    def _output(self, token_losses: torch.Tensor) -> torch.Tensor:
        """What each token contributes to the sketched gradient: its loss, or a stand-in for TRAK's margin
        whose gradient is the margin's (the loss scaled by a constant 1 / (1 - p), outside autograd)."""
        if self.config.output == "loss":
            return token_losses
        p = torch.exp(-token_losses.detach())  # ignored positions: loss 0, gradient 0, whatever the scale
        return token_losses / (1.0 - p).clamp(min=1.0 / MARGIN_MAX_SCALE)

    def combine(self, vectors: list[torch.Tensor]) -> torch.Tensor:
        """[batch, sketch_dim] = Σ_m weight_m · final_m · vector_m, the dense projection of the whole."""
        sketch = torch.zeros(vectors[0].shape[0], self.sketch_dim, device=vectors[0].device)
        for projection, vector in zip(self.projections, vectors, strict=True):
            sketch += self.module_weights[projection.name] * (vector @ projection.final.T)
        return sketch

    def close(self) -> None:
        """Remove the hooks; restore the model's training mode and its parameters' requires_grad."""
        for handle in self._handles:
            handle.remove()
        self._handles = []
        for param, requires_grad in self._requires_grad.items():
            param.requires_grad_(requires_grad)
        self.model.train(self._was_training)

    def __enter__(self) -> LoraGradientProjector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def calibrated_module_weights(names: list[str], vectors: list[torch.Tensor]) -> dict[str, float]:
    """w_m = 1 / sqrt(M · mean_i ‖v_m,i‖²) for the M modules' vectors [rows, 2·r·k] of some training rows.

    A block-diagonal, scaled-identity empirical Fisher in LoGra's projected space (one scalar per LoRA
    module, DataInf-style): each module then carries the same share of a row's expected squared sketch
    norm, instead of the few modules with the largest gradients (value/output projections, typically)
    drowning the others in the dense final projection. Modules with no gradient keep weight 1."""
    means = [float(vector.pow(2).sum(dim=1).mean()) for vector in vectors]
    return {
        name: (1.0 / (len(names) * mean) ** 0.5 if mean > 0.0 else 1.0)
        for name, mean in zip(names, means, strict=True)
    }
