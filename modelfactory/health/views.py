from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from modelfactory.health.checks import platform_health, public_health


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
