"""Request bodies of /v1/fine_tuning/jobs and the list endpoints' query strings, checked, naming the param.

OpenAI's hyperparameters (`n_epochs`, `batch_size`, `learning_rate_multiplier`, each a number or "auto")
and this server's extensions (the wizard's advanced panel: `preset`, `method`, `lora_r`, `lora_alpha`,
`lora_dropout`, `target_modules`, `max_steps`, `max_seq_length`, `eval_fraction`, `learning_rate`,
`scheduler`, `packing`) become overrides of a wizard preset; their ranges are the `TrainingSpec`'s own,
checked when the spec is built (`fine_tuning_services`), so the API refuses what the wizard refuses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.text import slugify

from modelfactory.api.errors import InvalidParameter
from modelfactory.finetuning.training.spec import METHODS, PRESETS

DEFAULT_PRESET = "balanced"  # the wizard's own default
MAX_EPOCHS = 50  # OpenAI's bounds for n_epochs and batch_size
MAX_BATCH_SIZE = 256
MAX_LEARNING_RATE_MULTIPLIER = 10.0
MAX_SUFFIX = 64

EXTENSIONS = {
    "lora_r": "rank",
    "lora_alpha": "alpha",
    "lora_dropout": "dropout",
    "target_modules": "target_modules",
    "max_steps": "max_steps",
    "max_seq_length": "max_seq_length",
    "eval_fraction": "eval_fraction",
    "learning_rate": "learning_rate",
    "scheduler": "scheduler",
    "packing": "packing",
}
"""Our hyperparameters beyond OpenAI's, by their API name, to the `TrainingSpec` field each sets."""
PARAM_OF = {
    **{spec_field: f"hyperparameters.{name}" for name, spec_field in EXTENSIONS.items()},
    "epochs": "hyperparameters.n_epochs",
    "batch_size": "hyperparameters.batch_size",
    "method": "method",
    "seed": "seed",
}
"""A `TrainingSpec` field to the request field that set it, so that a `SpecInvalid` names the param sent."""
OPENAI_HYPERPARAMETERS = ("n_epochs", "batch_size", "learning_rate_multiplier")


@dataclass(frozen=True)
class FineTuningAsk:
    """A checked POST /v1/fine_tuning/jobs: the base model's name, the file, and the preset's overrides."""

    model: str
    training_file: str
    suffix: str
    preset: str
    overrides: dict[str, Any] = field(default_factory=dict)
    learning_rate_multiplier: float | None = None
    """None: the preset's learning rate as it is ("auto")."""


FIELDS = (
    "model",
    "training_file",
    "validation_file",
    "hyperparameters",
    "method",
    "suffix",
    "seed",
    "metadata",
    "integrations",
)
UNSUPPORTED = ("metadata", "integrations")
"""OpenAI's fields this server does not keep or run: accepted empty, refused by name otherwise."""


def fine_tuning_ask(body: dict) -> FineTuningAsk:
    """Every field is honoured or refused by name, as the completions endpoints do: an unknown field (a
    typo) or an unsupported feature is a 400, never silently ignored."""
    for name in body:
        if name not in FIELDS:
            raise InvalidParameter(
                f"unknown field {name!r}; a fine-tuning job takes {', '.join(FIELDS)}", param=name
            )
    for name in UNSUPPORTED:
        if body.get(name):
            raise InvalidParameter(f"{name} is not supported here; send it empty or leave it out", param=name)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidParameter(
            "'model' is required: the name of a base model to fine-tune (GET /v1/models, kind 'base')",
            param="model",
        )
    training_file = body.get("training_file")
    if not isinstance(training_file, str) or not training_file:
        raise InvalidParameter(
            "'training_file' is required: the id of a file uploaded with purpose 'fine-tune'",
            param="training_file",
        )
    if body.get("validation_file") is not None:
        raise InvalidParameter(
            "validation_file is not supported here: held-out rows are split from the training file; set "
            "hyperparameters.eval_fraction (default 0.1) to choose how many",
            param="validation_file",
        )
    hyperparameters = {**_method_hyperparameters(body.get("method")), **_object(body, "hyperparameters")}
    overrides: dict[str, Any] = {}
    if isinstance(body.get("method"), str):
        overrides["method"] = _method(body["method"], "method")
    if "method" in hyperparameters:
        overrides["method"] = _method(hyperparameters.pop("method"), "hyperparameters.method")
    preset = hyperparameters.pop("preset", DEFAULT_PRESET)
    if preset not in PRESETS:
        raise InvalidParameter(
            f"hyperparameters.preset must be one of {', '.join(PRESETS)}, got {preset!r}",
            param="hyperparameters.preset",
        )
    unknown = sorted(set(hyperparameters) - set(OPENAI_HYPERPARAMETERS) - set(EXTENSIONS))
    if unknown:
        known = ", ".join([*OPENAI_HYPERPARAMETERS, "preset", "method", *EXTENSIONS])
        raise InvalidParameter(
            f"unknown hyperparameter {unknown[0]!r}; known ones are {known}",
            param=f"hyperparameters.{unknown[0]}",
        )
    epochs = _auto_or_integer(hyperparameters.get("n_epochs"), "n_epochs", 1, MAX_EPOCHS)
    if epochs is not None:
        overrides["epochs"] = float(epochs)
        overrides["max_steps"] = None  # a preset's step count would override the epochs asked for
    batch_size = _auto_or_integer(hyperparameters.get("batch_size"), "batch_size", 1, MAX_BATCH_SIZE)
    if batch_size is not None:
        overrides["batch_size"] = batch_size
    multiplier = _auto_or_multiplier(hyperparameters.get("learning_rate_multiplier"))
    if multiplier is not None and "learning_rate" in hyperparameters:
        raise InvalidParameter(
            "give learning_rate_multiplier or learning_rate, not both", param="hyperparameters.learning_rate"
        )
    for name, spec_field in EXTENSIONS.items():
        if name in hyperparameters:
            overrides[spec_field] = hyperparameters[name]
    seed = body.get("seed")
    if seed is not None:
        overrides["seed"] = seed
    return FineTuningAsk(
        model=model,
        training_file=training_file,
        suffix=_suffix(body.get("suffix")),
        preset=preset,
        overrides=overrides,
        learning_rate_multiplier=multiplier,
    )


def _object(body: dict, name: str) -> dict:
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidParameter(f"{name} must be an object", param=name)
    return dict(value)


def _method_hyperparameters(method: Any) -> dict:
    """OpenAI's `method` object: only `supervised` is offered (a LoRA-family adapter); its hyperparameters
    count as the request's. A plain string is our extension, the adapter method (`lora`, `qlora`, `dora`)."""
    if method is None or isinstance(method, str):
        return {}
    if not isinstance(method, dict):
        raise InvalidParameter(
            f'method must be one of {", ".join(METHODS)} or {{"type": "supervised"}}', param="method"
        )
    if method.get("type") != "supervised":
        raise InvalidParameter(
            f"only supervised fine-tuning is offered here (a {', '.join(METHODS)} adapter), not "
            f"{method.get('type')!r}",
            param="method.type",
        )
    supervised = method.get("supervised") or {}
    if not isinstance(supervised, dict):
        raise InvalidParameter("method.supervised must be an object", param="method.supervised")
    hyperparameters = supervised.get("hyperparameters") or {}
    if not isinstance(hyperparameters, dict):
        raise InvalidParameter(
            "method.supervised.hyperparameters must be an object", param="method.supervised.hyperparameters"
        )
    return dict(hyperparameters)


def _method(value: Any, param: str) -> str:
    if value not in METHODS:
        raise InvalidParameter(f"{param} must be one of {', '.join(METHODS)}, got {value!r}", param=param)
    return value


def _auto_or_integer(value: Any, name: str, low: int, high: int) -> int | None:
    if value is None or value == "auto":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidParameter(
            f'hyperparameters.{name} must be "auto" or a whole number from {low} to {high}, got {value!r}',
            param=f"hyperparameters.{name}",
        )
    return value


def _auto_or_multiplier(value: Any) -> float | None:
    if value is None or value == "auto":
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 < value <= MAX_LEARNING_RATE_MULTIPLIER
    ):
        raise InvalidParameter(
            'hyperparameters.learning_rate_multiplier must be "auto" or a number above 0 up to '
            f"{MAX_LEARNING_RATE_MULTIPLIER:g}, got {value!r}",
            param="hyperparameters.learning_rate_multiplier",
        )
    return float(value)


def _suffix(value: Any) -> str:
    """Up to 64 characters that go into the fine-tuned model's name, as a slug (letters, digits, hyphens)."""
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_SUFFIX or not slugify(value):
        raise InvalidParameter(
            f"suffix must be text of 1 to {MAX_SUFFIX} characters with a letter or digit, got {value!r}",
            param="suffix",
        )
    return slugify(value)


@dataclass(frozen=True)
class Cursor:
    """A list request's page: the id of the last object of the previous page, and how many to return."""

    after: str | None
    limit: int


def cursor_of(query, *, default_limit: int, max_limit: int) -> Cursor:
    """`after` and `limit` from a query string (`request.GET`)."""
    raw = query.get("limit")
    if raw is None or raw == "":
        limit = default_limit
    else:
        try:
            limit = int(raw)
        except ValueError:
            limit = -1
        if not 1 <= limit <= max_limit:
            raise InvalidParameter(
                f"limit must be a whole number from 1 to {max_limit}, got {raw!r}", param="limit"
            )
    return Cursor(after=query.get("after") or None, limit=limit)
