"""Writes on the catalog."""

from __future__ import annotations

import json
from pathlib import Path

from django.db import transaction

from inference.base_model import locate_base_model
from modelfactory.catalog.models import BaseModel, PublishedModel


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
    base_model_publish(base_model=model)
    return model


class PublishRefused(Exception):
    """A model cannot be published or changed as asked; the message says why."""


def base_model_publish(*, base_model: BaseModel) -> PublishedModel:
    """Every registered base model is also servable as itself, under its own name."""
    published, _ = PublishedModel.objects.update_or_create(
        api_name=base_model.name,
        defaults={
            "title": base_model.name,
            "kind": PublishedModel.Kind.BASE,
            "base_model": base_model,
            "description": base_model.description,
            "is_live": True,
        },
    )
    return published


@transaction.atomic
def model_publish_from_job(
    *, job, user, api_name: str, title: str, description: str = "", access: str = PublishedModel.Access.PUBLIC
) -> PublishedModel:
    """Publish a finished job's adapter under an API name; servable at once, no restart.

    Publishing the same API name again (a retrained adapter) bumps its version, so every engine
    loads the new weights instead of serving cached old ones.
    """
    from modelfactory.finetuning.artifacts import adapter_directory
    from modelfactory.finetuning.models import FineTuneJob

    if job.owner_id != user.pk:
        raise PublishRefused("only the person who launched the job can publish its adapter")
    if job.status != FineTuneJob.Status.SUCCEEDED:
        raise PublishRefused("only a job that succeeded has an adapter to publish")
    if access not in PublishedModel.Access.values:
        raise PublishRefused(f"unknown access policy {access!r}")
    existing = PublishedModel.objects.select_for_update().filter(api_name=api_name).first()
    if existing and (existing.owner_id != user.pk or existing.kind != PublishedModel.Kind.ADAPTER):
        raise PublishRefused(f"the API name {api_name!r} is taken; choose another")
    published = existing or PublishedModel(api_name=api_name, kind=PublishedModel.Kind.ADAPTER, owner=user)
    published.title, published.description, published.access = title or api_name, description, access
    published.base_model, published.job = job.base_model, job
    published.adapter_path = str(adapter_directory(job))
    published.is_live = True
    published.version = (existing.version + 1) if existing else 1
    published.full_clean()
    published.save()
    return published


def model_unpublish(*, published: PublishedModel, user) -> PublishedModel:
    if published.owner_id != user.pk:
        raise PublishRefused("only the owner can unpublish a model")
    published.is_live = False
    published.save(update_fields=["is_live", "updated"])
    return published


def model_grant(*, published: PublishedModel, owner, user) -> None:
    if published.owner_id != owner.pk:
        raise PublishRefused("only the owner can grant access")
    published.allowed_users.add(user)


def model_revoke(*, published: PublishedModel, owner, user) -> None:
    if published.owner_id != owner.pk:
        raise PublishRefused("only the owner can revoke access")
    published.allowed_users.remove(user)
