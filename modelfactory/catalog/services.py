"""Writes on the catalog."""

from __future__ import annotations

import json
from pathlib import Path

from django.db import transaction

from inference.base_model import locate_base_model
from modelfactory.catalog.models import BaseModel


def _parameter_count(directory: Path) -> int | None:
    """Count parameters from the safetensors headers, without loading any weights."""
    total, found = 0, False
    for path in directory.glob("*.safetensors"):
        with path.open("rb") as handle:
            header_size = int.from_bytes(handle.read(8), "little")
            header = json.loads(handle.read(header_size))
        for name, tensor in header.items():
            if name == "__metadata__":
                continue
            count = 1
            for dimension in tensor["shape"]:
                count *= dimension
            total += count
            found = True
    return total if found else None


@transaction.atomic
def base_model_register(
    *, name: str, source: str, description: str = "", make_default: bool = False
) -> BaseModel:
    """Register (or refresh) a base model; raises `BaseModelNotFound` with the fix when it is not there."""
    info = locate_base_model(source)
    model, _ = BaseModel.objects.update_or_create(
        name=name,
        defaults={
            "source": source,
            "architecture": info.architecture,
            "model_type": info.model_type,
            "context_length": info.context_length,
            "parameter_count": _parameter_count(info.path),
            "description": description,
        },
    )
    if make_default or not BaseModel.objects.filter(is_default=True).exclude(pk=model.pk).exists():
        BaseModel.objects.exclude(pk=model.pk).update(is_default=False)
        model.is_default = True
        model.save(update_fields=["is_default"])
    return model
