"""What to train, as one validated, JSON-round-trippable value: the `TrainingSpec`.

The wizard builds a spec, the job row stores its JSON, the worker turns it back into a spec and
hands it to `run_training`. Validation lives here, in one place, so that the form, the API and a
worker reading an old job all reject the same things with the same words: a `SpecInvalid` names the
field (as the form knows it) and says what would be accepted.

Checks that depend on the machine (QLoRA needs CUDA and bitsandbytes, flash-attention needs the
package and a GPU) are in `capabilities.require_supported`, because a spec stored on a web host must
stay valid to be run later on a GPU host.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal

Method = Literal["lora", "qlora", "dora"]
Scheduler = Literal["linear", "cosine", "constant", "constant_with_warmup"]
Attention = Literal["auto", "sdpa", "eager", "flash_attention_2"]
Hardware = Literal["cpu", "gpu"]

METHODS: tuple[str, ...] = ("lora", "qlora", "dora")
SCHEDULERS: tuple[str, ...] = ("linear", "cosine", "constant", "constant_with_warmup")
ATTENTIONS: tuple[str, ...] = ("auto", "sdpa", "eager", "flash_attention_2")
TARGET_MODULE_CHOICES: tuple[str, ...] = ("auto", "attention", "attention_mlp")
"""``auto`` is attention + MLP (every linear layer of a block, the QLoRA paper's finding); ``attention``
is the classic q/k/v/o-only LoRA, cheaper and often enough for style or format changes."""

PRESETS: tuple[str, ...] = ("quick", "balanced", "thorough")


class SpecInvalid(ValueError):
    """A training spec field holds a value we cannot train with; ``field`` names it for the form."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class TrainingSpec:
    """Everything that determines a fine-tuning run besides the data rows.

    ``max_steps`` overrides ``epochs`` when set. ``target_modules`` is ``"auto"`` / ``"attention"`` /
    ``"attention_mlp"`` (detected per architecture) or an explicit tuple of module-name suffixes.
    """

    base_model: str
    method: Method = "lora"
    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: str | tuple[str, ...] = "auto"
    learning_rate: float = 2e-4
    scheduler: Scheduler = "cosine"
    warmup_ratio: float = 0.03
    epochs: float = 1.0
    max_steps: int | None = None
    batch_size: int = 8
    grad_accumulation: int = 1
    max_seq_length: int = 1024
    packing: bool = False
    eval_fraction: float = 0.1
    seed: int = 0
    save_every_steps: int = 50
    eval_every_steps: int = 50
    attention: Attention = "auto"
    gradient_checkpointing: bool = False
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)
    """Free-form notes kept with the spec (preset name, wizard version); never used in training."""

    def __post_init__(self) -> None:
        if isinstance(self.target_modules, list):
            object.__setattr__(self, "target_modules", tuple(self.target_modules))
        _validate(self)

    # --- JSON -------------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """A plain-JSON dict (tuples become lists); `from_json` turns it back into an equal spec."""
        data = dataclasses.asdict(self)
        if isinstance(self.target_modules, tuple):
            data["target_modules"] = list(self.target_modules)
        return data

    def to_json_text(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True)

    @classmethod
    def from_json(cls, data: dict[str, Any] | str) -> TrainingSpec:
        """Rebuild a spec; unknown keys are refused (a typo must not silently fall back to a default)."""
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except json.JSONDecodeError as error:
                raise SpecInvalid("spec", f"not valid JSON ({error.msg})") from error
        if not isinstance(data, dict):
            raise SpecInvalid("spec", "expected a JSON object")
        known = {f.name for f in dataclasses.fields(cls)}
        for key in data:
            if key not in known:
                raise SpecInvalid(key, f"unknown field; known fields are {', '.join(sorted(known))}")
        if "base_model" not in data:
            raise SpecInvalid("base_model", "is required")
        return cls(**data)

    def replace(self, **changes: Any) -> TrainingSpec:
        """A copy with ``changes`` applied and validated again (the spec itself is immutable)."""
        return dataclasses.replace(self, **changes)

    @property
    def effective_batch_size(self) -> int:
        return self.batch_size * self.grad_accumulation

    def identity(self) -> dict[str, Any]:
        """The fields that determine the trained weights (``extra`` left out): resume compares these."""
        data = self.to_json()
        data.pop("extra")
        return data


# --- Presets ---------------------------------------------------------------------------------------
_PRESET_TABLE: dict[tuple[str, str], dict[str, Any]] = {
    # CPU: models of a few hundred million parameters at most, minutes not hours; short sequences keep a
    # step cheap.
    ("quick", "cpu"): dict(
        # Sized on SmolLM2-135M on a 2-core CPU: about 9 minutes on a 640-row datanet, eval loss 3.5 -> 0.9
        # and ROUGE-L 0.11 -> 0.38 on held-out rows. Attention-only rank 8 learnt the tone but not the
        # facts (eval loss 2.6); the MLP holds facts, and its LoRA costs little next to the frozen model.
        # lr 2e-3 beat 1e-3 (eval loss 0.93 against 1.50) in the same 60 steps.
        rank=16,
        alpha=32,
        target_modules="auto",
        learning_rate=2e-3,
        max_steps=60,
        batch_size=8,
        max_seq_length=256,
        save_every_steps=30,
        eval_every_steps=30,
        warmup_ratio=0.05,
    ),
    # Balanced and Thorough see every row, twice and four times: about 20 and 45 minutes on the demo
    # datanets with SmolLM2-135M here (the review step's estimate says how long for the data chosen).
    ("balanced", "cpu"): dict(
        rank=32,
        alpha=64,
        target_modules="auto",
        learning_rate=1e-3,
        epochs=2.0,
        batch_size=8,
        max_seq_length=512,
        save_every_steps=50,
        eval_every_steps=50,
    ),
    ("thorough", "cpu"): dict(
        rank=64,
        alpha=128,
        target_modules="auto",
        learning_rate=5e-4,
        epochs=4.0,
        batch_size=8,
        grad_accumulation=2,
        max_seq_length=1024,
        save_every_steps=100,
        eval_every_steps=100,
    ),
    # GPU: billion-parameter models; LoRA learning rates from common practice (1e-4..2e-4).
    ("quick", "gpu"): dict(
        rank=8,
        alpha=16,
        target_modules="attention",
        learning_rate=2e-4,
        max_steps=200,
        batch_size=8,
        max_seq_length=1024,
        save_every_steps=50,
        eval_every_steps=50,
    ),
    ("balanced", "gpu"): dict(
        rank=16,
        alpha=32,
        target_modules="auto",
        learning_rate=2e-4,
        epochs=1.0,
        batch_size=8,
        grad_accumulation=2,
        max_seq_length=2048,
        save_every_steps=200,
        eval_every_steps=200,
        gradient_checkpointing=True,
    ),
    ("thorough", "gpu"): dict(
        rank=64,
        alpha=128,
        target_modules="auto",
        learning_rate=1e-4,
        epochs=3.0,
        batch_size=8,
        grad_accumulation=4,
        max_seq_length=4096,
        save_every_steps=200,
        eval_every_steps=200,
        gradient_checkpointing=True,
        packing=True,
    ),
}


def preset(
    name: str,
    base_model: str,
    *,
    hardware: Hardware = "cpu",
    context_length: int | None = None,
    **overrides: Any,
) -> TrainingSpec:
    """The named preset (``quick`` / ``balanced`` / ``thorough``) scaled for ``hardware``, then ``overrides``.

    The wizard starts from a preset and lets the advanced panel override single fields; the preset
    name is kept in ``extra`` so the job page can say "Balanced, rank changed to 32". A preset's max
    sequence length never exceeds the base model's ``context_length`` (an override may, and is refused
    when the job is created).
    """
    if name not in PRESETS:
        raise SpecInvalid("preset", f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    if hardware not in ("cpu", "gpu"):
        raise SpecInvalid("hardware", f"unknown hardware {hardware!r}; choose cpu or gpu")
    values: dict[str, Any] = {"base_model": base_model, **_PRESET_TABLE[(name, hardware)]}
    if context_length:
        values["max_seq_length"] = min(values["max_seq_length"], context_length)
    values.update(overrides)
    values["extra"] = {"preset": name, "hardware": hardware, **values.get("extra", {})}
    return TrainingSpec(**values)


# --- Validation ------------------------------------------------------------------------------------
def _validate(spec: TrainingSpec) -> None:
    if not isinstance(spec.base_model, str) or not spec.base_model.strip():
        raise SpecInvalid("base_model", "give a registered model path or id")
    _choice(spec, "method", METHODS)
    _choice(spec, "scheduler", SCHEDULERS)
    _choice(spec, "attention", ATTENTIONS)
    _integer(spec, "rank", 1, 1024)
    _integer(spec, "alpha", 1, 4096)
    _number(spec, "dropout", 0.0, 0.9)
    _number(spec, "learning_rate", 1e-7, 1.0, low_inclusive=False)
    _number(spec, "warmup_ratio", 0.0, 0.5)
    _number(spec, "epochs", 0.0, 100.0, low_inclusive=False)
    if spec.max_steps is not None:
        _integer(spec, "max_steps", 1, 10_000_000)
    _integer(spec, "batch_size", 1, 4096)
    _integer(spec, "grad_accumulation", 1, 1024)
    _integer(spec, "max_seq_length", 16, 1_048_576)
    _number(spec, "eval_fraction", 0.0, 0.5)
    _integer(spec, "seed", 0, 2**32 - 1)
    _integer(spec, "save_every_steps", 1, 10_000_000)
    _integer(spec, "eval_every_steps", 1, 10_000_000)
    _number(spec, "weight_decay", 0.0, 1.0)
    _number(spec, "max_grad_norm", 0.0, 1e6)
    for name in ("packing", "gradient_checkpointing"):
        if not isinstance(getattr(spec, name), bool):
            raise SpecInvalid(name, "must be true or false")
    if not isinstance(spec.extra, dict):
        raise SpecInvalid("extra", "must be an object")
    _validate_target_modules(spec.target_modules)


def _validate_target_modules(value: object) -> None:
    if isinstance(value, str):
        if value not in TARGET_MODULE_CHOICES:
            raise SpecInvalid(
                "target_modules",
                f"{value!r} is not a choice ({', '.join(TARGET_MODULE_CHOICES)}) nor a list of module names",
            )
        return
    if not isinstance(value, tuple) or not value:
        raise SpecInvalid("target_modules", "give 'auto', 'attention', 'attention_mlp' or a non-empty list")
    for name in value:
        if not isinstance(name, str) or not name or any(c.isspace() for c in name):
            raise SpecInvalid("target_modules", f"{name!r} is not a module name (e.g. 'q_proj')")


def _choice(spec: TrainingSpec, name: str, choices: tuple[str, ...]) -> None:
    value = getattr(spec, name)
    if value not in choices:
        raise SpecInvalid(name, f"{value!r} is not one of {', '.join(choices)}")


def _integer(spec: TrainingSpec, name: str, low: int, high: int) -> None:
    value = getattr(spec, name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecInvalid(name, f"must be a whole number, got {value!r}")
    if not low <= value <= high:
        raise SpecInvalid(name, f"must be between {low} and {high}, got {value}")


def _number(spec: TrainingSpec, name: str, low: float, high: float, *, low_inclusive: bool = True) -> None:
    value = getattr(spec, name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SpecInvalid(name, f"must be a number, got {value!r}")
    too_low = value < low if low_inclusive else value <= low
    if too_low or value > high:
        bound = "from" if low_inclusive else "above"
        raise SpecInvalid(name, f"must be {bound} {low} up to {high}, got {value}")
