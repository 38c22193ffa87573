"""Reads on the catalog. Who may use which model is decided here, for pages, API and engine alike."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils.text import slugify

from modelfactory.catalog.models import BaseModel, PublishedModel
from modelfactory.finetuning.selectors import evaluation_summary


class ModelNotFound(Exception):
    """No live model by that API name (or one the caller may not know about)."""


class ModelAccessDenied(Exception):
    """The model is on an allow-list that does not include the caller."""


def base_models() -> QuerySet[BaseModel]:
    return BaseModel.objects.all()


def models_usable_by(user) -> QuerySet[PublishedModel]:
    """Live models this user may call: public and pay-per-use ones, their own, and granted ones."""
    open_to_all = Q(access__in=[PublishedModel.Access.PUBLIC, PublishedModel.Access.PAY_PER_USE])
    live = PublishedModel.objects.filter(is_live=True).select_related("base_model", "owner", "job")
    if user is None or not user.is_authenticated:
        return live.filter(open_to_all)
    return live.filter(open_to_all | Q(owner=user) | Q(allowed_users=user)).distinct()


def model_for(user, api_name: str) -> PublishedModel:
    """The live model `api_name` if the user may call it; `ModelNotFound` / `ModelAccessDenied` otherwise."""
    model = (
        PublishedModel.objects.filter(api_name=api_name, is_live=True).select_related("base_model").first()
    )
    if model is None:
        raise ModelNotFound(f"the model {api_name!r} does not exist")
    if not models_usable_by(user).filter(pk=model.pk).exists():
        raise ModelAccessDenied(f"you do not have access to the model {api_name!r}; ask its owner")
    return model


API_NAME_MAX_LENGTH = PublishedModel._meta.get_field("api_name").max_length


def api_name_proposal(job) -> str:
    """The API name the publish form proposes for ``job``: its name, slugified, and free to take.

    A job its owner published before proposes that name again (publishing it bumps the version). A
    name that slugifies to nothing (only symbols, or a script slugify drops) falls back to the base
    model and job number; a taken name gets ``-2``, ``-3``... so the proposal never fails on submit.
    """
    previous = (
        PublishedModel.objects.filter(job=job, owner_id=job.owner_id, kind=PublishedModel.Kind.ADAPTER)
        .order_by("-updated")
        .first()
    )
    if previous is not None:
        return previous.api_name
    stem = slugify(job.name)[: API_NAME_MAX_LENGTH - 4].strip("-") or f"{job.base_model.name}-{job.pk}"
    taken = set(PublishedModel.objects.filter(api_name__startswith=stem).values_list("api_name", flat=True))
    name, suffix = stem, 2
    while name in taken:
        name, suffix = f"{stem}-{suffix}", suffix + 1
    return name


@dataclass(frozen=True)
class Fee:
    label: str
    amount: int
    """In OPEN base units: what a request is charged now, the model's own or the platform default."""
    is_default: bool


def fees_of(model: PublishedModel) -> list[Fee]:
    """What calling the model costs, each part the owner's own rate or the platform default it falls
    back to (`ledger.receipts.fee_rates`, the very rates receipts are charged at)."""
    from modelfactory.ledger.receipts import fee_rates

    rates = fee_rates(model)
    return [
        Fee("per 1,000 prompt tokens", rates.rate_in, model.fee_rate_in is None),
        Fee("per 1,000 generated tokens", rates.rate_out, model.fee_rate_out is None),
        Fee("per request", rates.platform_fee, model.fee_platform is None),
    ]


def catalog(user, *, search: str = "") -> QuerySet[PublishedModel]:
    models = models_usable_by(user)
    if search:
        models = models.filter(
            Q(api_name__icontains=search) | Q(title__icontains=search) | Q(description__icontains=search)
        )
    return models.order_by("kind", "title")


def lineage_of(model: PublishedModel) -> dict:
    """What the model page shows about where a model comes from: base, parts, datanets, developer, metrics."""
    parts = []
    if model.kind == PublishedModel.Kind.COMPOSITE:
        names = [name for name, _ in model.recipe.get("adapters", [])]
        found = PublishedModel.objects.in_bulk(names, field_name="api_name")
        parts = [(found.get(name), weight) for name, weight in model.recipe.get("adapters", [])]
    manifest = model.job.manifest if model.job_id else {}
    evaluation = model_evaluation(model)
    return {
        "parts": parts,
        "datanets": manifest.get("datanets", []),
        "training_rows": len(manifest.get("training_row_ids", [])),
        "metrics": manifest.get("metrics", {}),
        "evaluation": evaluation["summary"],
        "evaluation_missing": evaluation["missing"],
        "hyperparameters": manifest.get("hyperparameters", {}),
    }


def model_evaluation(model: PublishedModel) -> dict:
    """The model page's held-out evaluation (base vs this model), or (``missing``) why it has none.

    Base models have nothing to compare with: both are empty and the page shows no panel.
    """
    if model.kind == PublishedModel.Kind.BASE:
        return {"summary": None, "missing": ""}
    if model.job_id:
        job = model.job
        summary = evaluation_summary(job.evaluation or (job.manifest or {}).get("evaluation"))
        return {"summary": summary, "missing": "" if summary else "Its training job recorded no evaluation."}
    if model.kind == PublishedModel.Kind.COMPOSITE:
        missing = "A merge of adapters has no held-out evaluation of its own; see each part's page."
    else:
        missing = "An imported adapter: it was not trained here, so there is no held-out evaluation."
    return {"summary": None, "missing": missing}
