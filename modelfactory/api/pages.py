"""The API's pages: the keys under /account/api-keys/ (list, create with the secret shown once, revoke), and
the API reference at /docs/api/, built from the same endpoint list and request models as /v1/openapi.json."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from modelfactory.accounts.errors import LimitReached
from modelfactory.api.forms import ApiKeyForm
from modelfactory.api.openapi import ENDPOINTS, parameter_rows
from modelfactory.api.request_models import ChatCompletionRequest, CompletionRequest
from modelfactory.api.selectors import api_key_of, api_keys_of
from modelfactory.api.services import api_key_create, api_key_revoke
from modelfactory.catalog.selectors import default_base_model
from modelfactory.domain_errors import status_for


@login_required
def key_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "api/key_list.html",
        {
            "keys": api_keys_of(request.user),
            "form": ApiKeyForm(),
            "base_url": request.build_absolute_uri("/v1"),
        },
    )


@login_required
@require_POST
def key_create(request: HttpRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return render(
            request, "api/key_list.html", {"keys": api_keys_of(request.user), "form": form}, status=400
        )
    try:
        key, secret = api_key_create(user=request.user, name=form.cleaned_data["name"])
    except LimitReached as error:
        form.add_error(None, str(error))
        return render(
            request,
            "api/key_list.html",
            {"keys": api_keys_of(request.user), "form": form},
            status=status_for(error),
        )
    # Rendered, not redirected: the secret must never sit in a session, a URL or a log.
    return render(
        request,
        "api/key_created.html",
        {"key": key, "secret": secret, "base_url": request.build_absolute_uri("/v1")},
    )


@login_required
@require_POST
def key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    key = api_key_revoke(key=api_key_of(request.user, key_id), user=request.user)
    messages.success(request, f"Revoked {key}. Programs using it now get 401.")
    return redirect("api:keys")


def reference(request: HttpRequest) -> HttpResponse:
    """The API reference: every endpoint, every parameter (and which are refused), examples to copy."""
    base_url = request.build_absolute_uri("/v1")
    return render(
        request,
        "api/reference.html",
        {
            "base_url": base_url,
            "endpoints": ENDPOINTS,
            "bodies": [
                ("POST /v1/chat/completions", parameter_rows(ChatCompletionRequest)),
                ("POST /v1/completions", parameter_rows(CompletionRequest)),
            ],
            "model": getattr(default_base_model(), "name", "MODEL"),
        },
    )
