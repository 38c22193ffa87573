"""HTTP for the catalog: browse models, a model's page, publish, compose, import, grant."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from modelfactory.accounts.errors import Throttled
from modelfactory.accounts.selectors import user_named
from modelfactory.attribution.selectors import current_sketch
from modelfactory.catalog import selectors, services
from modelfactory.catalog.adapter_import import AdapterImportRefused
from modelfactory.catalog.forms import (
    CompositeForm,
    FeesForm,
    GrantForm,
    ImportForm,
    ModelSettingsForm,
    PublishForm,
)
from modelfactory.catalog.models import PublishedModel
from modelfactory.domain_errors import refusal_response
from modelfactory.finetuning.selectors import job_for


def catalog(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()
    return render(
        request, "catalog/list.html", {"models": selectors.catalog(request.user, search=search), "q": search}
    )


def detail(request: HttpRequest, api_name: str) -> HttpResponse:
    model = selectors.model_for(request.user, api_name)
    is_owner = request.user.is_authenticated and model.owner_id == request.user.pk
    return render(
        request,
        "catalog/detail.html",
        {
            "model": model,
            "is_owner": is_owner,
            "lineage": selectors.lineage_of(model),
            "sketch": current_sketch(model),
            "grant_form": GrantForm(),
            "api_base": request.build_absolute_uri("/v1"),
            "fees": selectors.fees_of(model),
        },
    )


@login_required
def publish(request: HttpRequest, job_id: int) -> HttpResponse:
    job = job_for(request.user, job_id)
    initial = {"api_name": selectors.api_name_proposal(job), "title": job.name}
    form = PublishForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            model = services.model_publish_from_job(job=job, user=request.user, **form.cleaned_data)
        except services.PublishRefused as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request, f"Published as {model.api_name}: servable now in the playground and the API."
            )
            return redirect("catalog:detail", api_name=model.api_name)
    return render(request, "catalog/publish.html", {"form": form, "job": job})


@login_required
def model_settings(request: HttpRequest, api_name: str) -> HttpResponse:
    """The owner changes description, access and fees after publishing."""
    model = selectors.owned_model_for(request.user, api_name)
    form = ModelSettingsForm(
        request.POST or None,
        initial={"description": model.description, "access": model.access, **FeesForm.initial_from(model)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.model_settings_update(published=model, user=request.user, **form.cleaned_data)
        except services.PublishRefused as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Saved: {model.api_name}'s new settings apply to the next request.")
            return redirect("catalog:detail", api_name=model.api_name)
    return render(request, "catalog/settings.html", {"form": form, "model": model})


@login_required
@require_POST
def unpublish(request: HttpRequest, api_name: str) -> HttpResponse:
    model = selectors.model_for(request.user, api_name)
    try:
        services.model_unpublish(published=model, user=request.user)
    except services.PublishRefused as error:
        messages.error(request, str(error))
        return redirect("catalog:detail", api_name=api_name)
    messages.info(request, f"{api_name} is no longer served; its lineage and receipts are kept.")
    return redirect("catalog:list")


@login_required
@require_POST
def grant(request: HttpRequest, api_name: str) -> HttpResponse:
    model = selectors.model_for(request.user, api_name)
    form = GrantForm(request.POST)
    if form.is_valid():
        user = user_named(form.cleaned_data["username"])
        if user is None:
            messages.error(request, f"no user named {form.cleaned_data['username']!r}")
        else:
            try:
                if request.POST.get("revoke"):
                    services.model_revoke(published=model, owner=request.user, user=user)
                else:
                    services.model_grant(published=model, owner=request.user, user=user)
            except services.PublishRefused as error:
                messages.error(request, str(error))
    return redirect("catalog:detail", api_name=api_name)


@login_required
def compose(request: HttpRequest) -> HttpResponse:
    adapters = selectors.adapters_usable_by(request.user)
    form = CompositeForm(request.POST or None, adapters=adapters)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            model = services.composite_create(
                user=request.user,
                api_name=data["api_name"],
                title=data["title"],
                parts=form.parts(),
                method=data["method"],
                density=data["density"],
                description=data["description"],
                access=data["access"],
            )
        except services.PublishRefused as error:
            form.add_error(None, str(error))
        else:
            _apply_fees(model, data)
            messages.success(request, f"Composite {model.api_name} saved; the engine merges it per request.")
            return redirect("catalog:detail", api_name=model.api_name)
    return render(request, "catalog/compose.html", {"form": form, "adapters": adapters})


@csrf_exempt  # checked by `_import_adapter` below, once the upload handler is set
@login_required
def import_adapter(request: HttpRequest) -> HttpResponse:
    """Take the zip as a file on disk, whatever its size: the handler must be chosen before the body is read,
    which CSRF's check of the form would do first, so the check runs after it (Django's documented way)."""
    request.upload_handlers = [TemporaryFileUploadHandler(request)]
    return _import_adapter(request)


@csrf_protect
def _import_adapter(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            started = services.adapter_import_receive(
                user=request.user,
                base_model=data["base_model"],
                api_name=data["api_name"],
                title=data["title"],
                file=data["file"],
                description=data["description"],
                access=data["access"],
                fee_rate_in=data.get("fee_rate_in"),
                fee_rate_out=data.get("fee_rate_out"),
                fee_platform=data.get("fee_platform"),
            )
        except (services.PublishRefused, AdapterImportRefused) as error:
            form.add_error("file", str(error))
        else:
            return redirect("catalog:import_status", import_id=started.pk)
    limits = {
        "max_bytes": settings.MODELFACTORY_ADAPTER_IMPORT_MAX_BYTES,
        "max_rank": settings.MODELFACTORY_ADAPTER_MAX_RANK,
    }
    return render(request, "catalog/import.html", {"form": form, **limits})


@login_required
def import_status(request: HttpRequest, import_id: int) -> HttpResponse:
    """The import's page; htmx polls its status block while a worker checks the zip."""
    started = selectors.adapter_import_of(request.user, import_id)
    template = "catalog/_import_status.html" if request.htmx else "catalog/import_status.html"
    return render(request, template, {"adapter_import": started})


@login_required
@require_POST
def compose_preview(request: HttpRequest) -> HttpResponse:
    """Answers of each chosen adapter and of the merge to one prompt, before anything is saved.

    A refusal comes back as the fragment with its reason: 400 for a bad field, 429 with Retry-After for
    the account's request limit; to htmx as 200, since htmx swaps only 2xx answers into the page."""
    form = CompositeForm(request.POST, adapters=selectors.adapters_usable_by(request.user))
    form.is_valid()  # the preview needs only the weights, the method and the density
    prompt = request.POST.get("prompt", "").strip() or "Hello!"
    try:
        answers = services.composite_preview(
            user=request.user,
            parts=form.preview_parts(),
            method=form.cleaned_data.get("method", ""),
            density=form.cleaned_data.get("density", 1.0),
            prompt=prompt,
        )
    except (services.PublishRefused, Throttled) as refused:
        response = render(request, "catalog/_preview.html", {"error": str(refused)})
        return refusal_response(response, refused, in_place=bool(request.htmx))
    return render(request, "catalog/_preview.html", {"answers": answers, "prompt": prompt})


def _apply_fees(model: PublishedModel, data: dict) -> None:
    services.model_set_fees(
        published=model,
        fee_rate_in=data.get("fee_rate_in"),
        fee_rate_out=data.get("fee_rate_out"),
        fee_platform=data.get("fee_platform"),
    )
