"""/metrics in Prometheus' text format, for a scraper with the token or an allow-listed address."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache

from modelfactory.observability.metrics import exposition
from modelfactory.observability.metrics_access import require_metrics_access


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    require_metrics_access(request)
    body, content_type = exposition(request.headers.get("Accept", ""))
    return HttpResponse(body, content_type=content_type)
