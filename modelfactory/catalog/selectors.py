"""Reads on the catalog. Who may use which model is decided here, for pages, API and engine alike."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.text import slugify

from modelfactory.catalog.errors import AdapterImportNotFound, ModelAccessDenied, ModelNotFound
from modelfactory.catalog.models import (
    ORIGIN_UNKNOWN,
    AdapterImport,
    BaseModel,
    CompositePart,
    PublishedModel,
)
from modelfactory.finetuning.selectors import evaluation_summary


def adapter_import_of(user, import_id: int) -> AdapterImport:
    """An import's status is its uploader's alone: the name it asked for may not be public yet."""
    found = (
        AdapterImport.objects.select_related("published", "base_model")
        .filter(pk=import_id, owner_id=getattr(user, "pk", None))
        .first()
    )
    if found is None:
        raise AdapterImportNotFound(f"no adapter import {import_id} of yours")
    return found


def base_models() -> QuerySet[BaseModel]:
    return BaseModel.objects.all()


def default_base_model() -> BaseModel | None:
    """The base model new chats, jobs and examples start from (`MODELFACTORY_BASE_MODEL`)."""
    return BaseModel.objects.filter(is_default=True).first()


def _granted(user) -> Q:
    """The access rule alone: public and pay-per-use models, the user's own, and the ones granted to them."""
    open_to_all = Q(access__in=[PublishedModel.Access.PUBLIC, PublishedModel.Access.PAY_PER_USE])
    if user is None or not user.is_authenticated:
        return open_to_all
    return open_to_all | Q(owner=user) | Q(allowed_users=user)


def _usable_adapters(user) -> QuerySet[PublishedModel]:
    return PublishedModel.objects.filter(_granted(user), is_live=True, kind=PublishedModel.Kind.ADAPTER)


def models_usable_by(user) -> QuerySet[PublishedModel]:
    """Live models this user may call: public and pay-per-use ones, their own, and granted ones.

    A composite serves its parts, so it is usable only by someone who may use every part, live, now: its
    own access says who may see the merge, never who may reach the adapters inside it. Otherwise anyone
    granted an allow-listed adapter could wrap it in a public composite and go on serving it (to
    themselves or to everyone) after the grant is revoked or the adapter unpublished.
    """
    live = PublishedModel.objects.filter(is_live=True).select_related("base_model", "owner", "job")
    unusable_part = CompositePart.objects.filter(composite=OuterRef("pk")).exclude(
        part__in=_usable_adapters(user).values("pk")
    )
    any_part = CompositePart.objects.filter(composite=OuterRef("pk"))
    broken_composite = Q(kind=PublishedModel.Kind.COMPOSITE) & (Exists(unusable_part) | ~Exists(any_part))
    usable = live.filter(_granted(user)).exclude(broken_composite)
    return usable.distinct() if user is not None and user.is_authenticated else usable


class CompositePartUnavailable(ModelAccessDenied):
    """A composite's part is unpublished, gone, or no longer usable by the caller: the merge is not served."""


def adapter_parts(model: PublishedModel) -> list[tuple[PublishedModel, Fraction]]:
    """The adapters behind the model's answers with their weights summing to 1: an adapter itself, a
    composite's parts by merge weight in recipe order, nothing for a base model.

    Who may use them is not checked here: this is what a model is made of, for lineage and for
    splitting the developer's share of an answer already served. Serving goes through `composite_parts_for`.
    """
    if model.kind == PublishedModel.Kind.ADAPTER:
        return [(model, Fraction(1))]
    if model.kind != PublishedModel.Kind.COMPOSITE:
        return []
    links = list(CompositePart.objects.filter(composite=model).select_related("part__owner", "part__job"))
    total = sum((Fraction(str(link.weight)) for link in links), Fraction(0)) or Fraction(1)
    return [(link.part, Fraction(str(link.weight)) / total) for link in links]


def composite_parts_for(user, composite: PublishedModel) -> list[tuple[PublishedModel, Fraction]]:
    """The composite's parts, each checked live and usable by `user` now; `CompositePartUnavailable` naming
    the first part that is not. Checked on every request and again when the receipt is written."""
    parts = adapter_parts(composite)
    if not parts:
        raise CompositePartUnavailable(f"the composite {composite.api_name!r} has no parts it may serve")
    candidates = _usable_adapters(user).filter(pk__in=[part.pk for part, _ in parts])
    usable = set(candidates.values_list("pk", flat=True))
    for part, _weight in parts:
        if part.pk not in usable or part.base_model_id != composite.base_model_id:
            raise CompositePartUnavailable(
                f"the composite {composite.api_name!r} merges {part.api_name!r}, which is unpublished or not "
                "usable by you; ask its owner for access"
            )
    return parts


def not_found_message(api_name: str) -> str:
    """OpenAI's words for a model that is missing or not the caller's to use: the two are one answer."""
    return f"The model {api_name!r} does not exist or you do not have access to it."


def model_for(user, api_name: str) -> PublishedModel:
    """The live model `api_name` if the user may call it; `ModelNotFound` / `ModelAccessDenied` otherwise.

    A composite also needs every one of its parts live and usable by the user (`composite_parts_for`).
    """
    model = (
        PublishedModel.objects.filter(api_name=api_name, is_live=True).select_related("base_model").first()
    )
    if model is None:
        raise ModelNotFound(not_found_message(api_name))
    if not PublishedModel.objects.filter(_granted(user), pk=model.pk).exists():
        raise ModelAccessDenied(not_found_message(api_name))
    if model.kind == PublishedModel.Kind.COMPOSITE:
        composite_parts_for(user, model)
    return model


def owned_model_for(user, api_name: str) -> PublishedModel:
    """`model_for`, for its owner only: to anyone else another person's model does not exist."""
    model = model_for(user, api_name)
    if model.owner_id is None or model.owner_id != getattr(user, "pk", None):
        raise ModelNotFound(f"no model {api_name!r} of yours")
    return model


def adapters_usable_by(user) -> QuerySet[PublishedModel]:
    """The adapters the user may merge into a composite: usable by them, and adapters (not composites)."""
    return models_usable_by(user).filter(kind=PublishedModel.Kind.ADAPTER)


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
    back to (`ledger.receipt_services.fee_rates`, the very rates receipts are charged at)."""
    from modelfactory.ledger.receipt_services import fee_rates

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
        links = CompositePart.objects.filter(composite=model).select_related("part")
        parts = [(link.part, link.weight) for link in links]
    source = model.lineage_job
    manifest = source.manifest if source is not None else {}
    evaluation = model_evaluation(model)
    return {
        "origin": _origin(model),
        "parts": parts,
        "datanets": manifest.get("datanets", []),
        "training_rows": len(manifest.get("training_row_ids", [])),
        "metrics": manifest.get("metrics", {}),
        "evaluation": evaluation["summary"],
        "evaluation_missing": evaluation["missing"],
        "hyperparameters": manifest.get("hyperparameters", {}),
    }


def _origin(model: PublishedModel) -> dict | None:
    """Where an imported adapter comes from, for its page: a copy of a job here, or unknown."""
    if model.kind != PublishedModel.Kind.ADAPTER or model.job_id:
        return None
    if model.origin_job_id:
        how = "the same files" if model.origin_match == "files" else "near-identical weights"
        return {
            "known": True,
            "job": model.origin_job,
            "text": f"a copy of an adapter trained here ({how}): it keeps that adapter's lineage and pays "
            "its contributors",
        }
    return {"known": False, "job": None, "text": ORIGIN_UNKNOWN}


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
