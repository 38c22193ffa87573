"""A LoRA adapter's fingerprint: what its weights do, in a few numbers per module, to recognise copies.

An adapter's behaviour is its deltas, B·A per target module (times the LoRA scaling), not its files: the
same deltas can be saved with A scaled by c and B by 1/c, with another rank padded with zeros, with
another alpha, or with a little noise added, and answer the same. So the fingerprint is taken on the
deltas: each module's delta Δ (out x in) is projected on both sides by fixed random sign matrices,
Q Δ P (K x K numbers), computed as (Q Bᵀ)ᵀ (A P) without ever forming Δ. Random projections keep inner
products on average (Johnson-Lindenstrauss), so the cosine of two modules' projections estimates the
cosine of their deltas: about 1 for a copy, whatever the rescaling, and close to 0 (spread about 1/K)
for unrelated adapters.

The sign matrices come from SHAKE-256 of the dimension and the side, not from a random generator, so
they are the same on every machine and in every library version: fingerprints stored years apart
compare. A new scheme changes `SCHEME`, and fingerprints of different schemes are never compared.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from primitives.file_digest import sha256_of_file

SCHEME = 1
K = 8
"""Projections per side: K x K = 64 numbers per module, 256 bytes; SmolLM2's 210 modules take 54 KB."""

MATCH_COSINE = 0.98
"""A module of the copy matches the original's when their projected deltas are this close (cosine).
Measured on random rank-16 modules of 32x32 to 576x1536: noise of 5% of each matrix's spread added to
both A and B scores at least 0.995 on every module, 10% at least 0.98, 20% about 0.96; unrelated
adapters score 0.1 on average and at most about 0.3."""

MATCH_SHARE = 0.9
"""A copy matches on at least this share of the original's modules: dropping or retraining a few modules
does not hide it, and an adapter sharing a handful of modules by chance is not taken for one."""


@dataclass(frozen=True)
class Fingerprint:
    weights_sha256: str
    modules: list[tuple[str, int, int]]
    """(module path, out, in), in the order of `blocks`."""
    blocks: np.ndarray
    """float32 [modules, K * K]: each module's projected delta, flattened."""

    def to_bytes(self) -> bytes:
        return np.ascontiguousarray(self.blocks, dtype="<f4").tobytes()

    @classmethod
    def from_stored(cls, *, weights_sha256: str, modules: list, sketch: bytes) -> Fingerprint:
        blocks = np.frombuffer(bytes(sketch), dtype="<f4").reshape(len(modules), K * K)
        return cls(weights_sha256, [(str(m), int(o), int(i)) for m, o, i in modules], blocks)


def weights_sha256(directory: Path) -> str:
    """sha256 of the adapter's weights file: identical files are a copy, whatever the config says."""
    from inference.adapter_weights import WEIGHTS_FILE

    return sha256_of_file(Path(directory) / WEIGHTS_FILE)


@lru_cache(maxsize=64)
def _signs(dimension: int, side: str) -> torch.Tensor:
    """A fixed [dimension, K] matrix of +-1 for one side of one module shape."""
    seed = f"modelfactory-adapter-fingerprint:{SCHEME}:{side}:{dimension}".encode()
    bits = np.unpackbits(np.frombuffer(hashlib.shake_256(seed).digest((dimension * K + 7) // 8), np.uint8))
    signs = bits[: dimension * K].astype(np.float32) * 2.0 - 1.0
    return torch.from_numpy(signs.reshape(dimension, K))


def fingerprint(weights: dict[str, tuple[torch.Tensor, torch.Tensor]], *, sha256: str) -> Fingerprint:
    """The fingerprint of adapter weights in serving form (`inference.adapter_weights.read_adapter`):
    module -> (A [r, in], scaled Bᵀ [r, out])."""
    modules, blocks = [], []
    for name in sorted(weights):
        a, b_t = (tensor.to(torch.float32) for tensor in weights[name])
        out_features, in_features = b_t.shape[1], a.shape[1]
        projected_out = b_t @ _signs(out_features, "out")  # [r, K] = (Q Bᵀ)ᵀ
        projected_in = a @ _signs(in_features, "in")  # [r, K] = A P
        blocks.append((projected_out.T @ projected_in).reshape(-1))
        modules.append((name, int(out_features), int(in_features)))
    stacked = torch.stack(blocks).numpy().astype(np.float32) if blocks else np.zeros((0, K * K), np.float32)
    return Fingerprint(sha256, modules, stacked)


def _cosines(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Row-wise cosine; two all-zero rows (untrained modules) count as the same, one as different."""
    first, second = first.astype(np.float64), second.astype(np.float64)
    dot = (first * second).sum(axis=1)
    norms = np.linalg.norm(first, axis=1) * np.linalg.norm(second, axis=1)
    both_zero = (np.abs(first).sum(axis=1) == 0) & (np.abs(second).sum(axis=1) == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        cosine = np.where(norms > 0, dot / np.where(norms > 0, norms, 1.0), 0.0)
    return np.where(both_zero, 1.0, cosine)


def matched_share(original: Fingerprint, candidate: Fingerprint) -> float:
    """The share of the original's modules that the candidate has, at the same shape, with a matching
    delta. A copy that drops some modules loses only those; one that adds modules loses nothing."""
    if not original.modules:
        return 0.0
    theirs = {(name, out, inp): index for index, (name, out, inp) in enumerate(candidate.modules)}
    pairs = [(mine, theirs[key]) for mine, key in enumerate(original.modules) if key in theirs]
    if not pairs:
        return 0.0
    mine, other = (np.array(side) for side in zip(*pairs, strict=True))
    cosines = _cosines(original.blocks[mine], candidate.blocks[other])
    return float((cosines >= MATCH_COSINE).sum() / len(original.modules))


def is_copy(original: Fingerprint, candidate: Fingerprint) -> tuple[bool, float]:
    """Whether `candidate` is a copy of `original` (same file, or near-identical deltas), and the share."""
    if original.weights_sha256 == candidate.weights_sha256:
        return True, 1.0
    share = matched_share(original, candidate)
    return share >= MATCH_SHARE, share
