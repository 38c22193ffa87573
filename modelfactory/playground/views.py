"""Playground pages and endpoints: parse the request, call one service or selector, render or stream."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.handlers.asgi import ASGIRequest
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from modelfactory.billing.selectors import balance_of
from modelfactory.domain_errors import answers_json
from modelfactory.ledger.selectors import receipt_get
from modelfactory.playground import selectors, services
from modelfactory.playground.answer_streaming_services import answer_events, answer_events_async, answer_stop
from modelfactory.playground.chat_settings import MAX_TOKENS_LIMIT, ChatSettings
from modelfactory.playground.errors import InvalidSettings
from modelfactory.playground.models import Message


def _preselected(request: HttpRequest, models: list) -> list[str]:
    """`?model=a&compare=b` (from a catalog page's "Try it") picks the models, if the user may use them;
    without one, the user's own default (`selectors.default_model_name`)."""
    usable = {model.api_name for model in models}
    wanted = [request.GET.get("model", ""), request.GET.get("compare", "")]
    chosen = [name for name in wanted if name in usable]
    if not chosen or chosen[0] != wanted[0]:
        default = selectors.default_model_name(request.user, models)
        chosen = [default, *[name for name in chosen if name != default]] if default else []
    return chosen[:2]


def _page(request: HttpRequest, conversation=None) -> HttpResponse:
    settings = ChatSettings.parse(conversation.settings) if conversation else ChatSettings()
    models = list(selectors.playground_models(request.user))
    return render(
        request,
        "playground/chat.html",
        {
            "conversation": conversation,
            "conversations": selectors.conversations_of(request.user)[:100],
            "turns": selectors.conversation_turns(conversation) if conversation else [],
            "models": models,
            "chosen": conversation.model_names if conversation else _preselected(request, models),
            "settings": settings,
            "max_tokens_limit": MAX_TOKENS_LIMIT,
            "thread": selectors.conversation_thread(conversation),
            "balance": balance_of(request.user),
        },
    )


@login_required
@require_GET
def chat(request: HttpRequest) -> HttpResponse:
    return _page(request)


@login_required
@require_GET
def conversation(request: HttpRequest, conversation_id: int) -> HttpResponse:
    return _page(request, selectors.conversation_for(request.user, conversation_id))


@login_required
@require_GET
def sidebar(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "playground/_conversations.html",
        {
            "conversations": selectors.conversations_of(request.user)[:100],
            "current_id": request.GET.get("current"),
        },
    )


def _answer_json(answer: Message) -> dict:
    return {
        "message_id": answer.pk,
        "model": answer.model_name,
        "stream_url": reverse("playground:stream", args=[answer.pk]),
        "stop_url": reverse("playground:stop", args=[answer.pk]),
    }


@login_required
@require_GET
def context(request: HttpRequest) -> HttpResponse:
    """The context meter under the message box: the form as it stands (models, system prompt, draft)."""
    data = request.GET
    conversation_id = data.get("conversation", "").strip()
    meter = selectors.context_meter(
        request.user,
        conversation_id=int(conversation_id) if conversation_id.isdigit() else None,
        model_names=[data.get("model", ""), data.get("compare_model", "")],
        system_prompt=data.get("system_prompt", ""),
        draft=data.get("message", ""),
    )
    return render(request, "playground/_context_meter.html", {"meter": meter})


@answers_json
@login_required
@require_POST
@transaction.atomic
def send(request: HttpRequest) -> JsonResponse:
    """Start or continue a conversation with the form's prompt; the page then opens each answer's stream.

    One transaction: a prompt refused (too long, empty) leaves no empty conversation behind."""
    data = request.POST
    model_names = [data.get("model", ""), data.get("compare_model", "")]
    settings = ChatSettings.parse(data)
    system_prompt = data.get("system_prompt", "")
    if conversation_id := data.get("conversation", "").strip():
        if not conversation_id.isdigit():
            raise InvalidSettings("conversation", f"{conversation_id!r} is not a conversation id")
        conversation = selectors.conversation_for(request.user, int(conversation_id))
    else:
        conversation = services.conversation_start(
            user=request.user, model_names=model_names, system_prompt=system_prompt, settings=settings
        )
    prompt, answers = services.prompt_send(
        user=request.user,
        conversation=conversation,
        content=data.get("message", ""),
        model_names=model_names,
        system_prompt=system_prompt,
        settings=settings,
    )
    return JsonResponse(
        {
            "conversation_id": conversation.pk,
            "conversation_url": reverse("playground:conversation", args=[conversation.pk]),
            "prompt": {"message_id": prompt.pk, "content": prompt.content},
            "answers": [_answer_json(answer) for answer in answers],
        },
        status=201,
    )


@answers_json
@login_required
@require_GET
def stream(request: HttpRequest, message_id: int) -> StreamingHttpResponse:
    """Server-sent events for one answer: `token` frames, then `done` (with the receipt id) or `error`."""
    selectors.answer_for(request.user, message_id)  # a 404 before the stream opens, not an error frame
    if isinstance(request, ASGIRequest):
        events = answer_events_async(user=request.user, answer_id=message_id)
    else:
        events = answer_events(user=request.user, answer_id=message_id)
    response = StreamingHttpResponse(events, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx and friends must not hold tokens back
    return response


@answers_json
@login_required
@require_POST
def stop(request: HttpRequest, message_id: int) -> JsonResponse:
    answer = answer_stop(user=request.user, answer_id=message_id)
    return JsonResponse({"message_id": answer.pk, "status": answer.status})


@login_required
@require_GET
def attribution(request: HttpRequest, receipt_id: str) -> HttpResponse:
    """The attribution panel under an answer, loaded by htmx once the answer's receipt exists;
    `?part=body` is its inside alone, which polls itself while the attribution job runs."""
    receipt = receipt_get(receipt_id=receipt_id)
    template = "playground/_attribution_body.html" if request.GET.get("part") == "body" else None
    return render(
        request,
        template or "playground/_attribution.html",
        selectors.attribution_panel(receipt, request.user),
    )
