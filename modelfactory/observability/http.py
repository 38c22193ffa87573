"""The middleware every request passes first: its log context, its request line, its HTTP metrics.

Series are labelled by route *name* (`api:chat_completions`, `datanets:detail`), never by path: paths
carry ids and tokens (a password-reset link), so they would make the series unbounded and put secrets in
logs. The request line logs the route's pattern for the same reason.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import sync_and_async_middleware
from django.utils.functional import empty

from modelfactory.observability import log_context
from modelfactory.observability.metrics import (
    API_ANSWERS,
    HTTP_DURATION,
    HTTP_REQUESTS,
    answer_model_label,
    status_class,
)

logger = logging.getLogger("modelfactory.http")

PROBE_ROUTES = frozenset({"livez", "readyz", "healthz", "metrics"})
"""Asked every few seconds by machines: counted in the metrics, but their lines only at DEBUG (readiness
logs its own changes), or they would bury the lines of people's requests."""

CLIENT_CLOSED_REQUEST = 499
"""The status counted for a request whose client hung up before the answer (nginx's convention): not a
server error, so it must not page anyone as a 5xx would."""

RECEIPT_HEADER = "X-Attribution-Receipt"
"""Set by the API (and read here) on every answer: the receipt the request produced."""


@sync_and_async_middleware
def request_observability(get_response):
    if asyncio.iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponse:
            token, started = _begin(request)
            response, status = None, 500
            try:
                response = await get_response(request)
                return response
            except asyncio.CancelledError:  # the client went away (ASGI cancels the request's task)
                status = CLIENT_CLOSED_REQUEST
                raise
            finally:
                _finish(request, response, started, token, status_without_response=status)

    else:

        def middleware(request: HttpRequest) -> HttpResponse:
            token, started = _begin(request)
            response = None
            try:
                response = get_response(request)
                return response
            finally:
                _finish(request, response, started, token)

    return middleware


def _begin(request: HttpRequest):
    """A request id for every request (the API gives its own answers theirs, `api_endpoint`)."""
    request.request_id = "req_" + uuid.uuid4().hex
    return log_context.begin(request_id=request.request_id), time.perf_counter()


def _finish(
    request: HttpRequest,
    response: HttpResponse | None,
    started: float,
    token,
    *,
    status_without_response: int = 500,
) -> None:
    """Count, time and log the request; never fails it (a fault here is logged, the response goes out)."""
    try:
        _observe(request, response, started, status_without_response)
    except Exception:
        logger.exception("could not record the request's metrics or line")
    finally:
        log_context.end(token)


def _observe(
    request: HttpRequest, response: HttpResponse | None, started: float, default_status: int
) -> None:
    seconds = time.perf_counter() - started
    status = response.status_code if response is not None else default_status
    route, pattern = _route_of(request)
    HTTP_REQUESTS.labels(route, status_class(status)).inc()
    HTTP_DURATION.labels(route, status_class(status)).observe(seconds)
    if response is not None:
        response.headers.setdefault("x-request-id", getattr(request, "request_id", ""))
        log_context.bind(receipt_id=response.headers.get(RECEIPT_HEADER))
    known = log_context.current()
    if "model" in known:
        API_ANSWERS.labels(answer_model_label(str(known["model"])), status_class(status)).inc()
    if "user_id" not in known:
        log_context.bind(user_id=_user_id_if_known(request))
    logger.log(
        logging.DEBUG if route in PROBE_ROUTES else logging.WARNING if status >= 500 else logging.INFO,
        "%s %s %s in %.0f ms",
        request.method,
        pattern,
        status,
        seconds * 1000,
        extra={"method": request.method, "route": route, "status": status, "duration_ms": seconds * 1000},
    )


def _route_of(request: HttpRequest) -> tuple[str, str]:
    """(route name, route pattern); `static` for whitenoise's files, `unmatched` for a URL that is none."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name or match._func_path, "/" + (match.route or "")
    if request.path.startswith(settings.STATIC_URL):
        return "static", settings.STATIC_URL
    return "unmatched", "(no route)"


def _user_id_if_known(request: HttpRequest) -> int | None:
    """The signed-in user's id if the request already looked them up; looking it up here would cost a
    query per request (and cannot be done from async code)."""
    user = getattr(request, "user", None)
    if user is None or getattr(user, "_wrapped", None) is empty:
        return None
    return user.pk if getattr(user, "is_authenticated", False) else None
