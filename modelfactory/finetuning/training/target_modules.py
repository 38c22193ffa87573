"""Which layers LoRA adapts, found by looking at the model rather than at a table of model names.

Architectures name their projections differently (Llama/Qwen2/Mistral/Gemma: ``q_proj`` ...
``down_proj``; Phi: ``dense``, ``fc1``/``fc2``; GPT-2: fused ``c_attn`` and ``Conv1D`` layers whose
weights are stored transposed). Instead of a lookup per ``model_type`` that breaks on the next model,
we walk the transformer blocks, keep every ``nn.Linear`` / ``Conv1D`` leaf, and sort it into
attention or MLP by the name of the sub-module it lives in (``self_attn``, ``attn``, ``mlp``...).

Names are returned as PEFT suffixes: the bare leaf name (``q_proj``) when it is unambiguous, and
``parent.leaf`` when one leaf name serves both roles (GPT-2's ``attn.c_proj`` and ``mlp.c_proj``),
so that "attention only" really is attention only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn
from transformers.pytorch_utils import Conv1D

_ATTENTION_MARKERS = ("attn", "attention")
_MLP_MARKERS = ("mlp", "feed_forward", "ffn", "ff")
_NEVER_TARGETED = ("lm_head", "embed", "wte", "wpe", "score", "classifier")


class TargetModulesNotFound(ValueError):
    """The model has no linear layers we recognise as attention/MLP; name them explicitly instead."""


@dataclass(frozen=True)
class DetectedTargets:
    architecture: str
    attention: tuple[str, ...]
    mlp: tuple[str, ...]
    fan_in_fan_out: bool
    """True for GPT-2-style ``Conv1D`` layers (weight stored as in×out): PEFT must transpose."""

    @property
    def attention_mlp(self) -> tuple[str, ...]:
        return self.attention + self.mlp


def detect_target_modules(model: nn.Module) -> DetectedTargets:
    """Find the attention and MLP projection layers of a causal LM's transformer blocks."""
    leaves: dict[str, set[str]] = {"attention": set(), "mlp": set()}
    qualified: dict[str, set[str]] = {"attention": set(), "mlp": set()}
    conv1d = False
    for name, module in model.named_modules():
        if not isinstance(module, nn.Linear | Conv1D) or not name:
            continue
        parts = name.split(".")
        if any(marker in part for part in parts for marker in _NEVER_TARGETED):
            continue
        role = _role_of(parts[:-1])
        if role is None:
            continue
        leaves[role].add(parts[-1])
        qualified[role].add(f"{parts[-2]}.{parts[-1]}" if len(parts) > 1 else parts[-1])
        conv1d = conv1d or isinstance(module, Conv1D)
    shared = leaves["attention"] & leaves["mlp"]

    def names_for(role: str) -> tuple[str, ...]:
        bare = {leaf for leaf in leaves[role] if leaf not in shared}
        scoped = {q for q in qualified[role] if q.rsplit(".", 1)[-1] in shared}
        return tuple(sorted(bare)) + tuple(sorted(scoped))

    architecture = getattr(getattr(model, "config", None), "model_type", type(model).__name__)
    attention, mlp = names_for("attention"), names_for("mlp")
    if not attention and not mlp:
        raise TargetModulesNotFound(
            f"no attention or MLP linear layers found in this {architecture} model; "
            "list target_modules explicitly (e.g. ['q_proj', 'v_proj'])"
        )
    return DetectedTargets(architecture=architecture, attention=attention, mlp=mlp, fan_in_fan_out=conv1d)


def resolve_target_modules(model: nn.Module, choice: str | Sequence[str]) -> tuple[list[str], bool]:
    """Turn a spec's ``target_modules`` into PEFT's list, plus whether the layers need fan_in_fan_out.

    ``auto`` and ``attention_mlp`` mean every attention and MLP projection; ``attention`` only the
    attention ones (falling back to all when a model has no separate attention layers).
    """
    detected = detect_target_modules(model)
    if isinstance(choice, str):
        if choice == "attention":
            names = detected.attention or detected.attention_mlp
        elif choice in ("auto", "attention_mlp"):
            names = detected.attention_mlp
        else:
            raise ValueError(f"unknown target_modules choice {choice!r}")
        return list(names), detected.fan_in_fan_out
    names = list(choice)
    fan_in_fan_out = any(
        isinstance(module, Conv1D)
        for module_name, module in model.named_modules()
        if any(module_name == n or module_name.endswith(f".{n}") for n in names)
    )
    return names, fan_in_fan_out


def _role_of(parents: list[str]) -> str | None:
    # The innermost recognisable container decides: in GPT-2 "h.0.attn.c_proj" it is "attn".
    for part in reversed(parents):
        lowered = part.lower()
        if any(marker in lowered for marker in _ATTENTION_MARKERS):
            return "attention"
        if any(lowered == marker or lowered.startswith(marker) for marker in _MLP_MARKERS):
            return "mlp"
    return None
