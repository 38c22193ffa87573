"""Domain exceptions become HTTP responses here, at the edge, and nowhere else.

Services and selectors raise errors that say what was wrong (`NotDatanetOwner`, ...); this
middleware renders them as a page a person can read, with the right status code.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from datanets.errors import DatanetAccessDenied, DatanetNotFound, NotDatanetOwner, UploadRefused
from modelfactory.accounts.errors import LimitReached, Throttled
from modelfactory.billing.errors import InsufficientBalance

STATUS_FOR = {
    DatanetNotFound: 404,
    DatanetAccessDenied: 403,
    NotDatanetOwner: 403,
    UploadRefused: 400,
    InsufficientBalance: 402,
    LimitReached: 409,
    Throttled: 429,
}


class DomainErrorMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        for error_type, status in STATUS_FOR.items():
            if isinstance(exception, error_type):
                response = render(
                    request, "error.html", {"status": status, "reason": str(exception)}, status=status
                )
                if isinstance(exception, Throttled):
                    response["Retry-After"] = str(exception.retry_after_s)
                return response
        return None
