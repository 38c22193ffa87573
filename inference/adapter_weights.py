"""Reading a PEFT LoRA adapter from disk into serving form, refusing anything that would serve wrong.

Serving form per target module: A [r, in] and B^T [r, out] with the LoRA scaling (alpha / r, or
alpha / sqrt(r) for rsLoRA, per-module `rank_pattern` / `alpha_pattern` honoured) folded into B^T, so the
batched layers never multiply by a scale. A DoRA adapter (PEFT's `use_dora=True`) also has a magnitude
vector m [out] per module (`lora_magnitude_vector`); the per-output-feature scale m / ||W + s B A|| it
implies needs the base weight W, so the adapter cache computes it once per load (`dora_scales`). Only
`adapter_model.safetensors` is read: a pickled `adapter_model.bin` can run code on load, so it is refused
with instructions to re-save.

`servability_problem(path)` runs every check that needs no base model, for publishing.

Every check happens here, before an adapter reaches the cache, so that a bad adapter fails the requests
that name it (`AdapterNotFound`, `AdapterIncompatible`, `AdapterCorrupt`) and nothing else.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

from inference.errors import AdapterCorrupt, AdapterIncompatible, AdapterNotFound, EngineError

CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapter_model.safetensors"
PICKLE_FILE = "adapter_model.bin"
_KEY = re.compile(
    r"^(?:base_model\.model\.)?(?P<module>.+)\.lora_(?P<which>[AB])(?:\.[A-Za-z0-9_-]+)?\.weight$"
)
# PEFT saves DoRA magnitudes as `<module>.lora_magnitude_vector` (in memory: `...vector.<adapter>.weight`)
_MAGNITUDE_KEY = re.compile(
    r"^(?:base_model\.model\.)?(?P<module>.+)\.lora_magnitude_vector(?:\.[A-Za-z0-9_-]+)?(?:\.weight)?$"
)


@dataclass(frozen=True)
class AdapterWeights:
    """One adapter version in host memory, ready to be copied into device rows."""

    name: str
    version: str  # content hash of config + weights: a re-saved adapter is a different version
    rank: int  # the largest rank over its modules (how many rows it needs)
    weights: dict[str, tuple[torch.Tensor, torch.Tensor]]  # module path -> (A [r, in], scaled B^T [r, out])
    base_model: str | None
    # DoRA only: module path -> magnitude m [out] (float32), for every module of `weights`
    magnitudes: dict[str, torch.Tensor] = field(default_factory=dict)
    # DoRA only, once the base weights are known (`AdapterCache`): module path -> m / ||W + s B A|| [out]
    dora_scales: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def is_dora(self) -> bool:
        return bool(self.magnitudes)

    @property
    def nbytes(self) -> int:
        vectors = [*self.magnitudes.values(), *self.dora_scales.values()]
        return sum(
            a.numel() * a.element_size() + b.numel() * b.element_size() for a, b in self.weights.values()
        ) + sum(v.numel() * v.element_size() for v in vectors)


def read_adapter_config(directory: Path) -> dict:
    """The adapter's config, after the checks that need no weights (cheap enough for registration)."""
    if not directory.is_dir():
        raise AdapterNotFound(f"adapter directory {directory} does not exist")
    config_path = directory / CONFIG_FILE
    if not config_path.is_file():
        raise AdapterNotFound(
            f"{directory} has no {CONFIG_FILE}; save the adapter with PEFT's save_pretrained"
        )
    if not (directory / WEIGHTS_FILE).is_file():
        if (directory / PICKLE_FILE).is_file():
            raise AdapterIncompatible(
                f"{directory} holds a pickled {PICKLE_FILE}, which is refused because loading pickle can run "
                "code; re-save it with save_pretrained(..., safe_serialization=True)"
            )
        raise AdapterNotFound(f"{directory} has no {WEIGHTS_FILE}")
    try:
        config = json.loads(config_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise AdapterCorrupt(f"{config_path} is not valid JSON: {error}") from error
    if not isinstance(config, dict):
        raise AdapterCorrupt(f"{config_path} does not hold a JSON object")
    _check_supported(config, directory)
    return config


def read_adapter(
    name: str,
    directory: Path,
    module_shapes: Mapping[str, tuple[int, int]] | None,
    *,
    dtype: torch.dtype = torch.float32,
) -> AdapterWeights:
    """Load and validate an adapter against the served modules' (in, out) shapes.

    With `module_shapes=None` (no base model at hand) only the adapter's own consistency is checked:
    config, pairs, ranks, shapes agreeing with each other, finite values.

    The weights are read from the file tensor by tensor (`safetensors.safe_open`), never as one bytes
    object beside its tensors, so an adapter costs its tensors' size in memory once, not twice.
    """
    from safetensors import safe_open

    directory = Path(directory)
    config = read_adapter_config(directory)
    try:
        config_bytes = (directory / CONFIG_FILE).read_bytes()
        digest = hashlib.sha256(config_bytes)
        with (directory / WEIGHTS_FILE).open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        with safe_open(str(directory / WEIGHTS_FILE), framework="pt") as weights_file:
            tensors = {key: weights_file.get_tensor(key) for key in weights_file.keys()}  # noqa: SIM118
    except OSError as error:
        raise AdapterNotFound(f"cannot read {directory}: {error}") from error
    except Exception as error:  # safetensors raises its own SafetensorError and others on bad bytes
        raise AdapterCorrupt(f"{directory / WEIGHTS_FILE} cannot be parsed: {error}") from error
    version = digest.hexdigest()[:16]
    pairs, magnitudes = _split_tensors(tensors, directory)
    dora = bool(config.get("use_dora"))
    _check_magnitudes_match(pairs, magnitudes, dora, directory)
    weights: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    served_magnitudes: dict[str, torch.Tensor] = {}
    base = config.get("base_model_name_or_path")
    for module, (a_weight, b_weight) in pairs.items():
        rank = a_weight.shape[0]
        if module_shapes is not None:
            if module not in module_shapes:
                raise AdapterIncompatible(
                    f"adapter {name!r} targets {module}, which this engine does not serve (trained for base "
                    f"{base!r}?); serve it on its own base model or add the module to lora_targets"
                )
            in_features, out_features = module_shapes[module]
        else:
            in_features, out_features = a_weight.shape[-1], b_weight.shape[0]
        expected_a, expected_b = (rank, in_features), (out_features, rank)
        if tuple(a_weight.shape) != expected_a or tuple(b_weight.shape) != expected_b:
            raise AdapterIncompatible(
                f"adapter {name!r} has A{tuple(a_weight.shape)} B{tuple(b_weight.shape)} for {module}, "
                f"but the base module maps {in_features} -> {out_features}: it was trained for another base "
                f"model ({base!r})"
            )
        if not (torch.isfinite(a_weight).all() and torch.isfinite(b_weight).all()):
            raise AdapterCorrupt(f"adapter {name!r} has NaN or infinite weights in {module}")
        if dora:
            magnitude = magnitudes[module]
            if tuple(magnitude.shape) != (out_features,):
                raise AdapterIncompatible(
                    f"adapter {name!r} has a DoRA magnitude of shape {tuple(magnitude.shape)} for {module}, "
                    f"which maps {in_features} -> {out_features}: it was trained for another base model "
                    f"({base!r})"
                )
            if not torch.isfinite(magnitude).all():
                raise AdapterCorrupt(f"adapter {name!r} has NaN or infinite DoRA magnitudes in {module}")
            served_magnitudes[module] = magnitude.to(torch.float32).contiguous()
        scaling = _scaling(config, module, rank)
        weights[module] = (
            a_weight.to(dtype).contiguous(),
            (b_weight.to(torch.float32) * scaling).T.to(dtype).contiguous(),
        )
    if not weights:
        raise AdapterCorrupt(f"adapter {name!r} has no LoRA weights in {directory / WEIGHTS_FILE}")
    rank = max(a.shape[0] for a, _ in weights.values())
    return AdapterWeights(
        name=name, version=version, rank=rank, weights=weights, base_model=base, magnitudes=served_magnitudes
    )


def servability_problem(
    directory: str | Path,
    *,
    module_shapes: Mapping[str, tuple[int, int]] | None = None,
    max_rank: int | None = None,
    name: str | None = None,
) -> str | None:
    """Why the engine could not serve the adapter in `directory`, or None when it can.

    Every check the engine makes when it loads an adapter, without loading the base model: the config
    (PEFT type, options), safetensors only, A/B pairs (and DoRA magnitudes) complete and consistent,
    finite values; with `module_shapes` (the served modules' (in, out), e.g. from the base model's config
    on the meta device) every module is served and has its shapes; with `max_rank`, the rank fits.
    `name` is what the reason calls the adapter (its folder's name by default).
    """
    directory = Path(directory)
    try:
        weights = read_adapter(name or directory.name, directory, module_shapes)
    except EngineError as error:
        return str(error)
    if max_rank is not None and weights.rank > max_rank:
        return f"the adapter has rank {weights.rank}; adapters of rank up to {max_rank} are served here"
    return None


def uses_dora(directory: str | Path) -> bool:
    """Whether the adapter in `directory` is a DoRA adapter (from its config alone)."""
    return bool(read_adapter_config(Path(directory)).get("use_dora"))


def lora_key(key: str) -> tuple[str, str] | None:
    """(module path, "A", "B" or "magnitude") for a PEFT LoRA/DoRA weight's name; None for anything else."""
    match = _KEY.match(key)
    if match:
        return match["module"], match["which"]
    match = _MAGNITUDE_KEY.match(key)
    return (match["module"], "magnitude") if match else None


def _check_supported(config: dict, directory: Path) -> None:
    peft_type = str(config.get("peft_type", "LORA")).upper()
    if peft_type != "LORA":
        raise AdapterIncompatible(f"{directory} is a {peft_type} adapter; only LoRA adapters can be served")
    if config.get("bias", "none") != "none":
        raise AdapterIncompatible(
            f"{directory} trains biases (bias={config['bias']!r}); train with bias='none'"
        )
    if config.get("modules_to_save"):
        raise AdapterIncompatible(
            f"{directory} saves whole modules {config['modules_to_save']}, which would need a model copy per "
            "adapter; train without modules_to_save"
        )


def _split_tensors(
    tensors: dict[str, torch.Tensor], directory: Path
) -> tuple[dict[str, tuple[torch.Tensor, torch.Tensor]], dict[str, torch.Tensor]]:
    """(module -> (A, B), module -> DoRA magnitude) from the file's tensors; anything else is refused."""
    halves: dict[str, dict[str, torch.Tensor]] = {}
    magnitudes: dict[str, torch.Tensor] = {}
    for key, tensor in tensors.items():
        parts = lora_key(key)
        if parts is None:
            raise AdapterIncompatible(
                f"{directory} holds {key!r}, which is not a LoRA A/B matrix or DoRA magnitude of a linear "
                "layer (embedding LoRA and saved modules are not supported)"
            )
        module, which = parts
        if which == "magnitude":
            magnitudes[module] = tensor
        else:
            halves.setdefault(module, {})[which] = tensor
    pairs = {}
    for module, half in halves.items():
        if set(half) != {"A", "B"}:
            raise AdapterCorrupt(
                f"{directory} has lora_{'A' if 'A' in half else 'B'} but not its pair for {module}"
            )
        if half["A"].dim() != 2 or half["B"].dim() != 2 or half["A"].shape[0] != half["B"].shape[-1]:
            raise AdapterCorrupt(f"{directory} has mismatched ranks for {module}")
        pairs[module] = (half["A"], half["B"])
    return pairs, magnitudes


def _check_magnitudes_match(
    pairs: Mapping[str, object], magnitudes: Mapping[str, torch.Tensor], dora: bool, directory: Path
) -> None:
    """A DoRA adapter has one magnitude per A/B pair; a plain LoRA adapter has none."""
    if magnitudes and not dora:
        raise AdapterCorrupt(
            f"{directory} holds DoRA magnitudes (lora_magnitude_vector) but its config does not say "
            "use_dora=true; re-save it with PEFT's save_pretrained"
        )
    if not dora:
        return
    if missing := sorted(set(pairs) - set(magnitudes)):
        raise AdapterCorrupt(
            f"{directory} is a DoRA adapter (use_dora=true) without the magnitude (lora_magnitude_vector) "
            f"of {missing[0]}" + (f" and {len(missing) - 1} other modules" if len(missing) > 1 else "")
        )
    if extra := sorted(set(magnitudes) - set(pairs)):
        raise AdapterCorrupt(f"{directory} has a DoRA magnitude but no lora_A/lora_B for {extra[0]}")


def _scaling(config: dict, module: str, rank: int) -> float:
    alpha = _pattern_value(config.get("alpha_pattern") or {}, module, config.get("lora_alpha", 8))
    if config.get("use_rslora"):
        return float(alpha) / math.sqrt(rank)
    return float(alpha) / rank


def _pattern_value(patterns: dict, module: str, default: float) -> float:
    """PEFT's rule: a pattern key applies to a module whose full name ends with it (as a regex)."""
    for key, value in patterns.items():
        if re.match(rf"(.*\.)?({key})$", module):
            return value
    return default
