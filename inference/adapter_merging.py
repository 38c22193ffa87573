"""Per-request adapter merges, built as a *derived adapter* and cached by recipe; the base is never touched.

* linear: sum_i w_i * dW_i is itself a LoRA, [w_1 B_1 | w_2 B_2 | ...] @ [A_1; A_2; ...], of rank
  sum r_i: exact, and as cheap to serve as any adapter. (Above the engine's max_rank it is compressed
  by SVD to max_rank, which is then an approximation.)
* ties, dare_linear, dare_ties work on each module's full delta dW_i = s_i B_i A_i (TIES: keep the
  `density` largest magnitudes, elect a sign per weight, average the agreeing ones; DARE: drop weights
  at random with probability 1 - density and rescale), then factor the result back into rank
  min(max_rank, sum r_i) with an SVD. DARE's randomness is seeded by the recipe, so a cached derived
  adapter and a rebuilt one are identical.

DoRA adapters are not merged: a DoRA adapter's change to a module is diag(m / ||W + s B A||) (W + s B A) - W,
which rescales the whole base weight and is not low-rank, so no merged adapter (a LoRA, or one DoRA
magnitude over a summed B A) would serve what the weighted sum of the parts means; the merge is refused with
`dora_merge_refusal`'s reason instead of serving an approximation.

The recipe name holds every part's name *and generation*: replacing a part makes a new recipe, so a
merge never serves stale weights.
"""

from __future__ import annotations

import hashlib

import torch

from inference.adapter_weights import AdapterWeights
from inference.errors import AdapterIncompatible

MERGE_METHODS = frozenset({"linear", "ties", "dare_linear", "dare_ties"})


def merge_recipe_name(parts: list[tuple[tuple[str, int], float]], method: str, density: float) -> str:
    spec = "+".join(f"{name}@{generation}*{weight:g}" for (name, generation), weight in parts)
    return f"merge:{method}:{density:g}:{spec}"


def dora_merge_refusal(part: str) -> str:
    return (
        f"adapter {part!r} is a DoRA adapter, and merges of DoRA adapters are not supported: its magnitude "
        "rescales the whole weight W + s B A per output feature, which is no low-rank delta to add to "
        "others' and no merged adapter would serve exactly; serve it on its own"
    )


def merge_adapters(
    name: str, parts: list[tuple[AdapterWeights, float]], method: str, density: float, max_rank: int
) -> AdapterWeights:
    """The derived adapter of a recipe (refused with `AdapterIncompatible` when a part is DoRA)."""
    for weights, _ in parts:
        if weights.is_dora:
            raise AdapterIncompatible(dora_merge_refusal(weights.name))
    if method not in MERGE_METHODS:
        raise ValueError(f"unknown merge method {method!r}; expected one of {sorted(MERGE_METHODS)}")
    if not 0 < density <= 1:
        raise ValueError("density must be in (0, 1]")
    modules = sorted({module for weights, _ in parts for module in weights.weights})
    seed = int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)
    merged = {}
    for index, module in enumerate(modules):
        present = [(w.weights[module], weight) for w, weight in parts if module in w.weights]
        total_rank = sum(a.shape[0] for (a, _), _ in present)
        if method == "linear" and total_rank <= max_rank:
            merged[module] = (
                torch.cat([a for (a, _), _ in present]),
                torch.cat([bt * weight for (_, bt), weight in present]),
            )
            continue
        deltas = torch.stack([(bt.T.float() @ a.float()) for (a, bt), _ in present])  # [n, out, in]
        weights = torch.tensor([weight for _, weight in present]).view(-1, 1, 1)
        generator = torch.Generator().manual_seed(seed + index)
        delta = _combine(deltas, weights, method, density, generator)
        merged[module] = _factor(delta, min(max_rank, total_rank), present[0][0][0].dtype)
    rank = max(a.shape[0] for a, _ in merged.values())
    version = hashlib.sha256("|".join(p.version for p, _ in parts).encode() + name.encode()).hexdigest()[:16]
    return AdapterWeights(
        name=name, version=version, rank=rank, weights=merged, base_model=parts[0][0].base_model
    )


def _combine(
    deltas: torch.Tensor, weights: torch.Tensor, method: str, density: float, generator: torch.Generator
) -> torch.Tensor:
    if method.startswith("dare"):
        keep = torch.rand(deltas.shape, generator=generator) < density
        deltas = deltas * keep / density
    elif method == "ties":
        deltas = _keep_largest(deltas, density)
    weighted = deltas * weights
    if method in ("linear", "dare_linear"):
        return weighted.sum(0)
    sign = torch.sign(weighted.sum(0))
    agrees = torch.sign(weighted) == sign
    return (weighted * agrees).sum(0) / agrees.sum(0).clamp(min=1)


def _keep_largest(deltas: torch.Tensor, density: float) -> torch.Tensor:
    flat = deltas.flatten(1).abs()
    keep = max(1, int(density * flat.shape[1]))
    threshold = flat.kthvalue(flat.shape[1] - keep + 1, dim=1).values.view(-1, 1, 1)
    return deltas * (deltas.abs() >= threshold)


def _factor(delta: torch.Tensor, rank: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """delta [out, in] ~= BT.T @ A with A [rank, in], BT [rank, out] (truncated SVD, split evenly)."""
    u, s, vh = torch.linalg.svd(delta, full_matrices=False)
    root = s[:rank].sqrt()
    a_weight = root.unsqueeze(1) * vh[:rank]
    bt_weight = (u[:, :rank] * root).T
    return a_weight.to(dtype).contiguous(), bt_weight.to(dtype).contiguous()
