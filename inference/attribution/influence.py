"""Scoring training rows' gradient sketches against an answer's: which rows influenced it most.

TRAK / influence functions score a training row i for a query q by g_iᵀ F⁻¹ g_q, with F the curvature
of the training loss. We use its Gauss-Newton / empirical-Fisher estimate *in the sketch space*,
    F = GᵀG/n + λI,      λ = DAMPING · trace(GᵀG/n) / d,      DAMPING = 1,
with G the [n, d] matrix of row sketches. λ is relative to F's mean eigenvalue so that it does not depend
on the loss's scale, and must be large enough to keep F invertible and stable when there are fewer rows
than sketch dimensions (GᵀG then has rank n < d). DAMPING = 1 (λ = the mean eigenvalue) divides out the
dominant shared gradient directions (what every row pushes the adapter towards: format, templates,
frequent tokens) while keeping the rest of the spectrum close to the identity; on the near-duplicate
benchmark below it beat 0.1 (the first guess), 0.3 and 3 (top-1 94.3% vs 90.9%, 93.5%, 92.8%).
F⁻¹ (d×d float32, 1 MiB at d = 512) is computed once when the sketches are built and stored with them.
The per-module weights of gradient_sketch.py (a block-diagonal, per-module scalar Fisher applied before
the dense projection) do the coarse part of the same job and matter even more (see below).

Scoring variants (`method=`):
  * "dot":             g_i · q                                    (raw gradient similarity, TracIn-like)
  * "cosine":          g_i · q / (‖g_i‖ ‖q‖)                      (unpreconditioned, LESS-like: the default)
  * "preconditioned":  g_i · F⁻¹q                                 (TRAK's score)
  * "whitened_cosine": cosine of F^{-1/2} g_i and F^{-1/2} q
Benchmark (tests/inference/attribution/test_gradient_sketch.py is its small version): 400 training rows
(random or Zipf tokens, with and without shared prompt/answer templates, answers of 4-12 or 1-30 tokens)
× random rank-8 adapters on a tiny Llama (all linear layers) and a tiny GPT-2 (Conv1D), 2 seeds each,
6,400 queries. A training row asked again ranks itself first with every normalised or preconditioned
variant (100%; "dot" 98%). Near-duplicate query (the same answer tokens after another prompt), its row's
rank, top-1 / top-3:
    dot 60.1% / 79.6%, cosine 90.2% / 94.4%, preconditioned 94.3% / 96.8%, whitened_cosine 93.1% / 95.8%
and without the per-module weights: 31.5% / 48.6%, 67.0% / 74.6%, 75.4% / 82.2%, 77.0% / 82.1%.
"preconditioned" won, by 1.2 points of top-1 over "whitened_cosine" and 4.1 over "cosine"; "dot" is
dominated by the rows with the largest gradients (short answers, badly fit rows), which it ranks high for
every query. On the test's 40 rows (where F, from 40 rows in 512 dimensions, is mostly damping) all four
are within two queries of each other (top-3 90-93%). Scores are unnormalised: comparable within one
adapter's sketches, not across adapters.

Why "cosine" is the default, although "preconditioned" wins the synthetic benchmark above (made with sketches
of the loss): on the canary benchmark (bench_canary.py: SmolLM2-135M fine-tuned on 120 rows, 20 planted
facts of three rows each sharing one sentence template), with sketches of the margin (gradient_sketch.py),
the three rows that taught an answer's fact are in its top 3 for 56 of 60 with "cosine", 54 with "dot", 38
with "whitened_cosine" and 36 with "preconditioned"; the answer's contributor ranks first 95% / 95% / 85% /
85%. With only a hundred rows in 512 dimensions F is mostly damping, and what it divides out there are the
planted facts' own directions, which several rows share. Real answers against a datanet's rows look like
the canary, not like the synthetic near-duplicates.

Cost per query: one backward pass (gradient_sketch.py), then d² + n·d multiply-adds: for a million rows
at d = 512, about 0.5 G multiply-adds over 1 GiB of float16 sketches, in chunks. Rows are stored as
unit-norm float16 directions plus a float32 norm each (float16 alone would flush the sketches of
well-fit rows, whose gradients are tiny, towards zero), so a row costs 2·d + 4 bytes, + 8 for its id.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from inference.attribution.gradient_sketch import (
    LoraGradientProjector,
    SketchConfig,
    adapter_fingerprint,
    calibrated_module_weights,
)
from primitives.atomic_files import replace_file_atomically, replaced_atomically
from primitives.file_digest import sha256_of_file

if TYPE_CHECKING:
    from peft import PeftModel

__all__ = [
    "DEFAULT_METHOD",
    "GradientSketches",
    "SketchCorrupt",
    "SketchMismatch",
    "adapter_fingerprint",
    "build_sketches",
]

ScoringMethod = Literal["dot", "cosine", "preconditioned", "whitened_cosine"]
DEFAULT_METHOD: ScoringMethod = "cosine"  # see "Why cosine is the default" above
DAMPING = 1.0  # λ = DAMPING · mean eigenvalue of GᵀG/n (see the module docstring)
TENSORS_FILE, META_FILE = "sketches.safetensors", "sketches.json"
FORMAT, VERSION = "lora-gradient-sketches", 1
_CHUNK_ROWS = 1 << 16  # rows scored at a time: bounds the float32 copy of float16 sketches
_DEFAULT_SKETCH_CONFIG = SketchConfig()  # frozen: safe to share as a default


class SketchMismatch(ValueError):
    """The query's projector, sketch config or adapter fingerprint differs from the sketches'."""


class SketchCorrupt(ValueError):
    """Sketch files are missing, truncated or inconsistent with each other."""


def fisher_inverse(vectors: torch.Tensor, damping: float = DAMPING) -> torch.Tensor:
    """(GᵀG/n + λI)⁻¹ with λ = damping · trace(GᵀG/n)/d, in float64, returned as float32."""
    n, d = vectors.shape
    g = vectors.to(torch.float64)
    gram = g.T @ g / max(n, 1)
    mean_eigenvalue = float(torch.trace(gram)) / d
    if mean_eigenvalue <= 0.0:  # no rows, or all-zero gradients: no curvature information
        return torch.eye(d, dtype=torch.float32)
    fisher = gram + damping * mean_eigenvalue * torch.eye(d, dtype=torch.float64)
    inverse = torch.cholesky_inverse(torch.linalg.cholesky(fisher))
    return ((inverse + inverse.T) / 2).to(torch.float32)


@dataclass
class GradientSketches:
    """The gradient sketches of an adapter's training rows, and how to score a query against them.

    vectors[i] is row i's sketch direction (unit norm, float16) and norms[i] its length: the sketch itself
    is norms[i] · vectors[i] (`dense()`)."""

    row_ids: list[int]
    vectors: torch.Tensor  # [n, sketch_dim] float16, unit-norm rows (what is stored)
    config: SketchConfig
    adapter_fingerprint: str
    preconditioner: torch.Tensor  # [sketch_dim, sketch_dim] float32: F⁻¹
    norms: torch.Tensor | None = None  # [n] float32; None: the vectors are the sketches as they are
    module_weights: dict[str, float] = field(default_factory=dict)  # projector's; {}: all 1
    _whitened_norms: torch.Tensor | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.norms is None:
            self.norms = torch.ones(len(self.row_ids), dtype=torch.float32)
        n, d = len(self.row_ids), self.config.sketch_dim
        if self.vectors.shape != (n, d) or self.norms.shape != (n,) or self.preconditioner.shape != (d, d):
            raise ValueError(
                f"inconsistent sketches: {n} row ids, vectors {tuple(self.vectors.shape)}, norms "
                f"{tuple(self.norms.shape)}, preconditioner {tuple(self.preconditioner.shape)}, d={d}"
            )

    @classmethod
    def from_vectors(
        cls,
        row_ids: list[int],
        vectors: torch.Tensor,
        *,
        config: SketchConfig,
        adapter_fingerprint: str,
        module_weights: dict[str, float] | None = None,
    ) -> GradientSketches:
        """Sketches from full-precision row sketches [n, sketch_dim]: computes the preconditioner."""
        vectors = vectors.detach().to("cpu", torch.float32)
        norms = vectors.norm(dim=1)
        directions = vectors / norms.clamp(min=torch.finfo(torch.float32).tiny)[:, None]
        return cls(
            row_ids=[int(row_id) for row_id in row_ids],
            vectors=directions.to(torch.float16),
            config=config,
            adapter_fingerprint=adapter_fingerprint,
            preconditioner=fisher_inverse(vectors),
            norms=norms,
            module_weights=dict(module_weights or {}),
        )

    def __len__(self) -> int:
        return len(self.row_ids)

    @property
    def nbytes(self) -> int:
        """Bytes of all stored tensors: the rows plus the fixed d×d preconditioner."""
        return self.bytes_per_row * len(self) + self.preconditioner.numel() * 4

    @property
    def bytes_per_row(self) -> int:
        """Stored bytes each row adds: its float16 direction, float32 norm and int64 id."""
        return self.config.sketch_dim * 2 + 4 + 8

    def dense(self) -> torch.Tensor:
        """[n, sketch_dim] float32 row sketches."""
        return self.vectors.float() * self.norms[:, None]

    # -- compatibility ----------------------------------------------------------------------------------

    def check(self, projector: LoraGradientProjector) -> None:
        """Raise SketchMismatch unless `projector` makes queries comparable with these sketches."""
        if projector.config != self.config:
            raise SketchMismatch(f"projector config {projector.config} != sketches' {self.config}")
        if projector.adapter_fingerprint != self.adapter_fingerprint:
            raise SketchMismatch(
                f"adapter fingerprint {projector.adapter_fingerprint[:12]}… differs from the sketches' "
                f"{self.adapter_fingerprint[:12]}…: these sketches were made for another adapter"
            )
        expected = self.module_weights or dict.fromkeys(projector.module_names, 1.0)
        if projector.module_weights != expected:
            raise SketchMismatch("the projector's module weights are not the ones of these sketches")

    def projector(self, model: PeftModel) -> LoraGradientProjector:
        """A projector for queries on `model`'s active adapter (close it when done); raises
        SketchMismatch when that adapter is not the one these sketches were made for."""
        projector = LoraGradientProjector(model, self.config, self.module_weights or None)
        if projector.adapter_fingerprint != self.adapter_fingerprint:  # hashed once, by the projector
            projector.close()
            raise SketchMismatch("the model's active adapter is not the one these sketches were made for")
        return projector

    # -- scoring ----------------------------------------------------------------------------------------

    def _whitened_row_norms(self) -> torch.Tensor:
        """‖F^{-1/2} u_i‖ = sqrt(u_iᵀ F⁻¹ u_i) for every stored direction u_i, computed once."""
        if self._whitened_norms is None:
            parts = []
            for start in range(0, len(self), _CHUNK_ROWS):
                chunk = self.vectors[start : start + _CHUNK_ROWS].float()
                parts.append(((chunk @ self.preconditioner) * chunk).sum(dim=1).clamp(min=0).sqrt())
            self._whitened_norms = torch.cat(parts) if parts else torch.zeros(0)
        return self._whitened_norms

    def scores(self, query: torch.Tensor, method: ScoringMethod = DEFAULT_METHOD) -> torch.Tensor:
        """Influence score of every row for a query sketch [sketch_dim] ([m, sketch_dim] gives [m, n]).

        Default "preconditioned": g_i · F⁻¹q, TRAK's score; the module docstring compares the others."""
        if query.shape[-1] != self.config.sketch_dim or query.dim() not in (1, 2):
            raise SketchMismatch(
                f"query of shape {tuple(query.shape)} for sketches of dim {self.config.sketch_dim}"
            )
        queries = query.detach().to("cpu", torch.float32).reshape(-1, self.config.sketch_dim)  # [m, d]
        if method == "dot":
            weighted, row_scale = queries, self.norms
        elif method == "cosine":
            weighted = queries / queries.norm(dim=1, keepdim=True).clamp(min=torch.finfo(torch.float32).tiny)
            row_scale = torch.ones(len(self))
        elif method == "preconditioned":
            weighted, row_scale = queries @ self.preconditioner, self.norms
        elif method == "whitened_cosine":
            weighted = queries @ self.preconditioner
            query_norms = (weighted * queries).sum(dim=1).clamp(min=0).sqrt()  # ‖F^{-1/2} q‖
            weighted = weighted / query_norms.clamp(min=torch.finfo(torch.float32).tiny)[:, None]
            row_scale = 1.0 / self._whitened_row_norms().clamp(min=torch.finfo(torch.float32).tiny)
        else:
            raise ValueError(f"unknown scoring method {method!r}")
        parts = [
            self.vectors[start : start + _CHUNK_ROWS].float() @ weighted.T
            for start in range(0, len(self), _CHUNK_ROWS)
        ]
        raw = torch.cat(parts) if parts else torch.zeros(0, len(queries))  # [n, m]
        result = (raw * row_scale[:, None]).T  # [m, n]
        return result[0] if query.dim() == 1 else result

    def top_rows(
        self, query: torch.Tensor, k: int = 10, method: ScoringMethod = DEFAULT_METHOD
    ) -> list[tuple[int, float]]:
        """The k most influential (row_id, score) pairs for one query sketch, best first, each score taken
        relative to the mean over all rows: a direction every row shares with the answer (or opposes, as
        in an adapter trained a few steps, where every row pulls away from what the model already says)
        shifts all scores alike, and would make every row look influential, or none. Above the mean
        means more influence than a typical row of the datanet; the order is the method's own."""
        if query.dim() != 1:
            raise ValueError("top_rows takes one query sketch [sketch_dim]")
        scores = self.scores(query, method)
        scores = scores - scores.mean()
        values, indices = scores.topk(min(k, len(self)))
        return [(self.row_ids[i], float(value)) for value, i in zip(values, indices.tolist(), strict=True)]

    # -- storage ----------------------------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        """Write sketches.safetensors then sketches.json (which records the former's sha256) into
        `directory`, each to a temporary name first and renamed into place: readers never see half a file,
        and a json present means its tensors were completely written."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tensors = {
            "vectors": self.vectors.to(torch.float16).contiguous(),
            "norms": self.norms.to(torch.float32).contiguous(),
            "row_ids": torch.tensor(self.row_ids, dtype=torch.int64),
            "preconditioner": self.preconditioner.to(torch.float32).contiguous(),
        }
        with replaced_atomically(directory / TENSORS_FILE) as tensors_tmp:
            save_file(tensors, str(tensors_tmp), metadata={"format": FORMAT})
            tensors_sha256 = sha256_of_file(tensors_tmp)
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "config": self.config.to_json(),
            "adapter_fingerprint": self.adapter_fingerprint,
            "rows": len(self),
            "module_weights": self.module_weights,
            "tensors_sha256": tensors_sha256,
        }
        replace_file_atomically(directory / META_FILE, json.dumps(meta, indent=2) + "\n")

    @classmethod
    def load(cls, directory: Path) -> GradientSketches:
        """Read sketches written by `save`; SketchCorrupt when files are missing, garbled or disagree."""
        directory = Path(directory)
        tensors_path, meta_path = directory / TENSORS_FILE, directory / META_FILE
        try:
            meta = json.loads(meta_path.read_text())
            if meta.get("format") != FORMAT or meta.get("version") != VERSION:
                raise SketchCorrupt(f"{meta_path}: not {FORMAT} version {VERSION}")
            config = SketchConfig.from_json(meta["config"])
            fingerprint, rows = str(meta["adapter_fingerprint"]), int(meta["rows"])
            sha256 = str(meta["tensors_sha256"])
            weights = {str(name): float(weight) for name, weight in meta["module_weights"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            if isinstance(error, SketchCorrupt):
                raise
            raise SketchCorrupt(f"{meta_path}: unreadable sketch metadata ({error})") from error
        try:
            if sha256_of_file(tensors_path) != sha256:
                raise SketchCorrupt(f"{tensors_path}: contents do not match {META_FILE} (truncated?)")
            tensors = load_file(str(tensors_path))
        except (OSError, SafetensorError) as error:
            raise SketchCorrupt(f"{tensors_path}: unreadable sketch tensors ({error})") from error
        try:
            row_ids = tensors["row_ids"].tolist()
            if len(row_ids) != rows:
                raise SketchCorrupt(f"{tensors_path}: {len(row_ids)} rows, {META_FILE} says {rows}")
            return cls(
                row_ids=row_ids,
                vectors=tensors["vectors"].to(torch.float16),
                config=config,
                adapter_fingerprint=fingerprint,
                preconditioner=tensors["preconditioner"].to(torch.float32),
                norms=tensors["norms"].to(torch.float32),
                module_weights=weights,
            )
        except KeyError as error:
            raise SketchCorrupt(f"{tensors_path}: missing tensor {error}") from error
        except ValueError as error:
            if isinstance(error, SketchCorrupt):
                raise
            raise SketchCorrupt(f"{tensors_path}: {error}") from error


def _batches(rows: Iterable[tuple], size: int, window: int) -> Iterator[list]:
    """Batches of rows of similar length: each run of `window` rows is sorted by length before batching,
    so padding (compute spent on nothing) stays low while the first rows, which calibrate the module
    weights, are the same rows in any order."""
    rows = iter(rows)
    while chunk := list(itertools.islice(rows, max(window, size))):
        chunk.sort(key=lambda row: len(row[-2]))  # (..., input_ids, labels)
        for start in range(0, len(chunk), size):
            yield chunk[start : start + size]


def build_sketches(
    model: PeftModel,
    rows: Iterable[tuple[int, list[int], list[int]]],
    *,
    config: SketchConfig = _DEFAULT_SKETCH_CONFIG,
    batch_size: int = 8,
    calibration_rows: int = 256,
    on_progress: Callable[[int, int], None] | None = None,
    total: int | None = None,
) -> GradientSketches:
    """Sketch every training row's gradient for the model's active adapter.

    rows are (row_id, input_ids, labels) exactly as the trainer tokenized them (labels -100 on prompt
    tokens); they are batched by similar length within windows (`_batches`).
    The first `calibration_rows` rows also calibrate the per-module weights (`calibrated_module_weights`;
    their module vectors are held until then, then sketched like the rest: one pass over the data);
    0 turns the weighting off. on_progress(done, total) is called after each batch; total is len(rows)
    when rows has a length."""
    if total is None and hasattr(rows, "__len__"):
        total = len(rows)
    row_ids: list[int] = []
    order: list[int] = []  # each sketched row's position in `rows`
    sketches: list[torch.Tensor] = []
    pending: list[list[torch.Tensor]] = []  # module vectors of the first batches, until calibrated
    calibrated = calibration_rows <= 0
    projector = LoraGradientProjector(model, config)

    def calibrate() -> None:
        nonlocal pending, calibrated
        per_module = [torch.cat(column) for column in zip(*pending, strict=True)]
        projector.set_module_weights(calibrated_module_weights(projector.module_names, per_module))
        sketches.extend(projector.combine(vectors).cpu() for vectors in pending)
        pending, calibrated = [], True

    try:
        positioned = ((position, *row) for position, row in enumerate(rows))
        for batch in _batches(positioned, batch_size, window=max(calibration_rows, 64)):
            vectors = projector.module_vectors([row[2] for row in batch], [row[3] for row in batch])
            order.extend(row[0] for row in batch)
            row_ids.extend(int(row[1]) for row in batch)
            if calibrated:
                sketches.append(projector.combine(vectors).cpu())
            else:
                pending.append(vectors)
                if len(row_ids) >= calibration_rows:
                    calibrate()
            if on_progress is not None:
                on_progress(len(row_ids), total if total is not None else len(row_ids))
        if pending:
            calibrate()
        fingerprint, weights = projector.adapter_fingerprint, dict(projector.module_weights)
    finally:
        projector.close()
    matrix = torch.cat(sketches) if sketches else torch.zeros(0, config.sketch_dim)
    if order:  # back to the callers' order, which batching by length changed
        inverse = sorted(range(len(order)), key=order.__getitem__)
        row_ids, matrix = [row_ids[i] for i in inverse], matrix[inverse]
    return GradientSketches.from_vectors(
        row_ids, matrix, config=config, adapter_fingerprint=fingerprint, module_weights=weights
    )
