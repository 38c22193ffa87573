"""Thin views of accounts: sign-up, a throttled log-in, the profile. Log out and passwords are Django's."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from modelfactory.accounts.errors import Throttled
from modelfactory.accounts.forms import DisplayNameForm, SignUpForm
from modelfactory.accounts.selectors import display_name_of, wallet_status_of
from modelfactory.accounts.services import sign_up_attempt_admit, user_profile_update, user_sign_up
from modelfactory.accounts.throttle_services import login_attempt_admit, login_failures_record
from modelfactory.domain_errors import refusal_response


@require_http_methods(["GET", "POST"])
def sign_up(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("profile")
    next_url = request.POST.get("next") or request.GET.get("next", "")
    if request.method == "GET":
        return _sign_up_page(request, SignUpForm(), next_url)
    try:
        sign_up_attempt_admit(ip=client_address(request))
    except Throttled as throttled:
        return refusal_response(
            _sign_up_page(request, SignUpForm(request.POST), next_url, refusal=str(throttled)), throttled
        )
    form = SignUpForm(request.POST)
    if not form.is_valid():
        return _sign_up_page(request, form, next_url, status=400)
    try:
        user = user_sign_up(
            username=form.cleaned_data["username"],
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password"],
        )
    except ValidationError as error:
        _add_errors(form, error)
        return _sign_up_page(request, form, next_url, status=400)
    login(request, user)
    messages.success(request, f"Welcome, {user.username}: your account is ready.")
    if url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(next_url)
    return redirect("profile")


def _sign_up_page(
    request: HttpRequest, form: SignUpForm, next_url: str, *, refusal: str = "", status: int = 200
) -> HttpResponse:
    context = {"form": form, "next": next_url, "refusal": refusal}
    return render(request, "accounts/sign_up.html", context, status=status)


def _add_errors(form: Form, error: ValidationError) -> None:
    """A service's ValidationError on the form: each message under its field, the rest above the form."""
    for field, field_messages in error.message_dict.items():
        form.add_error(field if field in form.fields else None, field_messages)


class LogInView(auth_views.LoginView):
    """Django's log-in, refused for a while after too many failures for one username or from one address.

    Only failures count, so a person who logs in often is never slowed down; a refused attempt does not
    even check the password, so guessing stops until the window frees.
    """

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            login_attempt_admit(username=request.POST.get("username", ""), address=client_address(request))
        except Throttled as throttled:
            context = self.get_context_data(form=self.get_form(), refusal=str(throttled))
            return refusal_response(self.render_to_response(context), throttled)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form) -> HttpResponse:
        login_failures_record(
            username=self.request.POST.get("username", ""), address=client_address(self.request)
        )
        return super().form_invalid(form)


def client_address(request: HttpRequest) -> str:
    """The address the web server saw (behind a proxy, the one SECURE_PROXY_SSL_HEADER's proxy set)."""
    return request.META.get("REMOTE_ADDR") or "unknown"


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    """The profile; with htmx, saving the display name swaps only its form (htmx swaps 2xx answers only,
    so a refused name comes back as 200 with its error, and as 400 without htmx)."""
    user = request.user
    form = DisplayNameForm(initial={"display_name": user.display_name})
    saved = False
    if request.method == "POST":
        form = DisplayNameForm(request.POST)
        if form.is_valid():
            user_profile_update(user=user, display_name=form.cleaned_data["display_name"])
            if not request.htmx:
                messages.success(request, f"Saved: you are shown as {display_name_of(user)}.")
                return redirect("profile")
            form, saved = DisplayNameForm(initial={"display_name": user.display_name}), True
    context = {
        "form": form,
        "saved": saved,
        "shown_as": display_name_of(user),
        "wallet": wallet_status_of(user),
    }
    if request.htmx:
        return render(request, "accounts/_display_name.html", context)
    return render(request, "accounts/profile.html", context, status=400 if form.errors else 200)
