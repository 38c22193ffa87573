from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from modelfactory.health.checks import platform_health, public_health, readiness


def _report_for(request: HttpRequest) -> dict:
    report = platform_health()
    return report if request.user.is_staff else public_health(report)


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    report = _report_for(request)
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


@never_cache
def status_page(request: HttpRequest) -> HttpResponse:
    template = "health/_checks.html" if request.htmx else "health/status.html"
    return render(request, template, {"report": _report_for(request), "detailed": request.user.is_staff})


@never_cache
def livez(request: HttpRequest) -> JsonResponse:
    """The process answers requests: nothing else is checked, so a restart is never ordered because
    something outside this process is down (that is what /readyz and /healthz tell)."""
    return JsonResponse({"status": "alive"})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """This replica can serve: its database is reachable and migrated and its base model is on disk.
    Each part up or down for anyone, never the reasons (they are logged); no session is read, so a probe
    costs no query beyond the checks."""
    report = readiness()
    response = JsonResponse(public_health(report), status=200 if report["status"] == "ready" else 503)
    # Django logs every 5xx as an error; readiness logs each change with its reason instead, so a probe
    # every few seconds does not repeat it all day.
    response._has_been_logged = True
    return response
