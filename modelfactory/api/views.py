"""The /v1/ endpoints: parse, call one service or selector, answer in OpenAI's shapes. No logic here.

Views are async so that under ASGI a long generation waits on a thread of its own, not on the one
thread Django gives every sync view; blocking calls (database, engine start, waiting for tokens) are
handed to threads. Streams are served as an async iterator under ASGI and a plain one under WSGI,
because Django buffers a stream whole when it has to convert between the two.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from modelfactory.api.answers import Answer, answer_start, published_for
from modelfactory.api.error_mapping import api_error_for
from modelfactory.api.errors import ApiError, InsufficientQuota, MethodNotAllowed, NotFound
from modelfactory.api.models import ApiKey
from modelfactory.api.openapi import openapi_document
from modelfactory.api.parameters import body_of, chat_ask, text_ask
from modelfactory.api.services import RateWindow, api_request_admit
from modelfactory.billing.pricing import model_pricing
from modelfactory.catalog.models import PublishedModel
from modelfactory.catalog.selectors import models_usable_by
from modelfactory.domain_errors import with_retry_after
from modelfactory.ledger.receipt_evidence import attribution_visible_to
from modelfactory.ledger.selectors import receipt_get
from modelfactory.observability import log_context

# Threads that wait on the engine's token queues: one per concurrent stream, so 64 streams in flight.
_waiters = ThreadPoolExecutor(max_workers=64, thread_name_prefix="api-wait")

ApiView = Callable[..., Awaitable[HttpResponse]]


def error_response(error: ApiError) -> JsonResponse:
    response = with_retry_after(JsonResponse(error.body(), status=error.status), error)
    if isinstance(error, InsufficientQuota):
        response["x-should-retry"] = "false"  # OpenAI's clients would retry a 429; only a deposit helps
    return response


def with_request_headers(response: HttpResponse, request_id: str, window: RateWindow | None) -> HttpResponse:
    """`x-request-id` on every answer (also in the logs and the receipt), and where the key stands in its
    per-minute window as OpenAI's `x-ratelimit-*-requests` headers once the key is known."""
    response["x-request-id"] = request_id
    if window is not None:
        response["x-ratelimit-limit-requests"] = str(window.limit)
        response["x-ratelimit-remaining-requests"] = str(window.remaining)
        response["x-ratelimit-reset-requests"] = f"{max(window.reset_s, 0.0):.3g}s"
    return response


def api_endpoint(*methods: str) -> Callable[[ApiView], ApiView]:
    """Bearer-key authentication, rate limiting, CSRF exemption, and ApiErrors as OpenAI error bodies."""

    def decorate(view: ApiView) -> ApiView:
        @csrf_exempt
        @functools.wraps(view)
        async def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            request.request_id = "req_" + uuid.uuid4().hex
            log_context.bind(request_id=request.request_id)  # every log line of the request carries it
            key = None
            try:
                if request.method not in methods:
                    raise MethodNotAllowed(f"use {' or '.join(methods)} here")
                header = request.headers.get("Authorization", "")
                secret = header[7:].strip() if header[:7].lower() == "bearer " else None
                key = await sync_to_async(api_request_admit)(secret=secret)
                log_context.bind(user_id=key.user_id)
                response = await view(request, key, *args, **kwargs)
            except ApiError as error:
                response = error_response(error)
            except Exception as error:
                if (mapped := api_error_for(error)) is None:
                    raise
                response = error_response(mapped)
            return with_request_headers(response, request.request_id, getattr(key, "rate_window", None))

        return wrapper

    return decorate


def _model_object(published: PublishedModel) -> dict:
    return {
        "id": published.api_name,
        "object": "model",
        "created": int(published.created.timestamp()),
        "owned_by": published.owner.username if published.owner_id else "modelfactory",
        "kind": published.kind,
        "base_model": published.base_model.name,
        "access": published.access,
        "pricing": model_pricing(published),
    }


@api_endpoint("GET")
async def models_list(request: HttpRequest, key: ApiKey) -> HttpResponse:
    models = await sync_to_async(lambda: [_model_object(m) for m in models_usable_by(key.user)])()
    return JsonResponse({"object": "list", "data": models})


@api_endpoint("GET")
async def model_detail(request: HttpRequest, key: ApiKey, api_name: str) -> HttpResponse:
    published = await sync_to_async(published_for)(key, api_name)
    return JsonResponse(await sync_to_async(_model_object)(published))


@api_endpoint("POST")
async def chat_completions(request: HttpRequest, key: ApiKey) -> HttpResponse:
    return await _answer(request, key, chat_ask(body_of(request.body)))


@api_endpoint("POST")
async def completions(request: HttpRequest, key: ApiKey) -> HttpResponse:
    return await _answer(request, key, text_ask(body_of(request.body)))


@api_endpoint("GET")
async def attribution(request: HttpRequest, key: ApiKey, receipt_id: str) -> HttpResponse:
    receipt = await sync_to_async(receipt_get)(receipt_id=receipt_id)
    return JsonResponse(
        {
            "object": "attribution_receipt",
            "id": str(receipt.receipt_id),
            "created": int(receipt.created.timestamp()),
            "model": receipt.model_name,
            "base_model": receipt.base_model,
            "adapters": receipt.adapters,
            "datanet_versions": receipt.datanet_versions,
            "usage": {"prompt_tokens": receipt.tokens_in, "completion_tokens": receipt.tokens_out},
            "fee": str(receipt.fee),
            "split": receipt.split,
            "attribution": await sync_to_async(attribution_visible_to)(receipt, key.user),
            "attribution_status": receipt.attribution_status,
            "epoch": receipt.epoch,
        }
    )


async def _answer(request: HttpRequest, key: ApiKey, ask) -> HttpResponse:
    answer = await sync_to_async(answer_start)(key=key, ask=ask, request_id=request.request_id)
    log_context.bind(model=answer.published.api_name)  # a model that exists: a bounded metrics label
    if ask.stream:
        body = _async_stream(answer) if isinstance(request, ASGIRequest) else _sync_stream(answer)
        response: HttpResponse = StreamingHttpResponse(body, content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        # The server closes every response it sent or gave up on (after the stream's own close): the
        # answer's reservation is charged or released then, even for a stream never read.
        response._resource_closers.append(answer.end)
    else:
        try:
            await asyncio.get_running_loop().run_in_executor(_waiters, answer.wait)
            await sync_to_async(answer.account)()
        finally:  # answered, failed, or the client went away (ASGI): close its reservation, once
            await asyncio.shield(sync_to_async(answer.end)())
        response = JsonResponse(answer.body())
    response["X-Attribution-Receipt"] = str(answer.receipt_id)
    return response


def _sync_stream(answer: Answer) -> Iterator[str]:
    """WSGI: the server closes this generator when the client disconnects, which cancels generation."""
    try:
        yield from answer.token_chunks()
        if answer.complete():
            answer.account()
            yield from answer.closing_chunks()
    finally:
        answer.cancel_unfinished()


async def _async_stream(answer: Answer) -> AsyncIterator[str]:
    """ASGI: Django cancels this iterator when the client disconnects, which cancels generation."""
    chunks = answer.token_chunks()
    loop = asyncio.get_running_loop()
    try:
        while (chunk := await loop.run_in_executor(_waiters, next, chunks, None)) is not None:
            yield chunk
        if answer.complete():
            await sync_to_async(answer.account)()
            for chunk in answer.closing_chunks():
                yield chunk
    finally:
        answer.cancel_unfinished()


def openapi_json(request: HttpRequest) -> JsonResponse:
    """The OpenAPI 3.1 document, public like the reference page it mirrors."""
    return JsonResponse(openapi_document())


@csrf_exempt
async def not_found(request: HttpRequest, path: str) -> HttpResponse:
    error = NotFound(f"no endpoint /v1/{path}; see GET /v1/models", code="unknown_url")
    return with_request_headers(error_response(error), "req_" + uuid.uuid4().hex, None)
