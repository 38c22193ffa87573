"""Writes for the playground: starting conversations and sending prompts, with access checked every time.

Every model name a user sends goes through the catalog's `model_for`, so a crafted POST naming a
private model fails here exactly as the chooser would have hidden it.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings as django_settings
from django.db import transaction
from django.utils import timezone

from modelfactory.accounts.throttle_services import user_request_admit
from modelfactory.billing.errors import InsufficientBalance
from modelfactory.billing.pricing import answer_price_max
from modelfactory.billing.selectors import balance_of
from modelfactory.catalog.selectors import model_for
from modelfactory.playground.chat_settings import ChatSettings
from modelfactory.playground.context_window import fit_chat
from modelfactory.playground.errors import ConversationTooLong, InvalidSettings
from modelfactory.playground.models import Conversation, Message
from modelfactory.playground.selectors import next_turn_chat
from modelfactory.serving import engine_runtime

MAX_PROMPT_CHARS = 20_000
TITLE_CHARS = 60


def _checked_model_names(user, model_names: list[str]) -> list[str]:
    names = [name for name in (n.strip() for n in model_names) if name]
    if not names:
        raise InvalidSettings("model", "choose a model to chat with")
    if len(names) > 2:
        raise InvalidSettings("model", "side-by-side compares two models at most")
    if len(names) == 2 and names[0] == names[1]:
        names = names[:1]  # the same model twice is just a chat
    for name in names:
        model_for(user, name)  # raises ModelNotFound / ModelAccessDenied
    return names


def _require_room(conversation: Conversation, content: str) -> dict[str, int]:
    """Refuse, before anything is saved, a prompt no answering model has room for (400, not an answer
    that fails): older turns would be left out, so only the message and system prompt count.

    Returns each model's prompt tokens, which price its answer."""
    running_engine = engine_runtime.engine()
    prompt_tokens = {}
    for name in conversation.model_names:
        chat = next_turn_chat(
            conversation, model_name=name, system_prompt=conversation.system_prompt, draft=content
        )
        fit = fit_chat(chat, running_engine)
        if not fit.fits:
            raise ConversationTooLong(
                tokens=fit.tokens, largest_prompt=fit.largest_prompt, context_length=fit.context_length
            )
        prompt_tokens[name] = fit.tokens
    return prompt_tokens


def _require_funds(user, prompt_tokens: dict[str, int], settings: ChatSettings) -> None:
    """Refuse, before anything is saved, a prompt whose answers the balance cannot pay for at their most.

    Only a hint that spares an answer doomed to fail: the stream holds the price for real when it starts
    (`answer_streaming_services.answer_begin`), so a balance spent meanwhile is still refused there."""
    needed = sum(
        answer_price_max(
            published=model_for(user, name), tokens_in=tokens, tokens_out_max=settings.max_tokens
        )
        for name, tokens in prompt_tokens.items()
    )
    balance = balance_of(user)
    if needed > balance.available:
        what = "these answers" if len(prompt_tokens) > 1 else "this answer"
        raise InsufficientBalance(
            available=balance.available, reserved=balance.reserved, needed=needed, what=what
        )


@transaction.atomic
def conversation_start(
    *, user, model_names: list[str], system_prompt: str = "", settings: ChatSettings | None = None
) -> Conversation:
    """A new, empty conversation with the models the user chose (checked against the catalog)."""
    conversation = Conversation(
        user=user,
        model_names=_checked_model_names(user, model_names),
        system_prompt=system_prompt.strip(),
        settings=(settings or ChatSettings()).as_json(),
    )
    conversation.full_clean()
    conversation.save()
    return conversation


@transaction.atomic
def prompt_send(
    *,
    user,
    conversation: Conversation,
    content: str,
    model_names: list[str] | None = None,
    system_prompt: str | None = None,
    settings: ChatSettings | None = None,
) -> tuple[Message, list[Message]]:
    """Add the user's prompt and one pending answer per model; the stream endpoint then fills each answer.

    Models, system prompt and settings may change between turns; the conversation keeps the latest,
    which is what "Copy as curl" and the next turn use. Each answer counts as one request in the
    account's per-minute limit, shared with its API keys (`Throttled` when it is used up).
    """
    if conversation.user_id != user.pk:
        raise InvalidSettings("conversation", "you can only write in your own conversations")
    content = content.strip()
    if not content:
        raise InvalidSettings("message", "write a message first")
    if len(content) > MAX_PROMPT_CHARS:
        raise InvalidSettings("message", f"keep it under {MAX_PROMPT_CHARS} characters")
    if model_names is not None:
        conversation.model_names = _checked_model_names(user, model_names)
    else:
        _checked_model_names(user, conversation.model_names)
    if system_prompt is not None:
        conversation.system_prompt = system_prompt.strip()
    prompt_tokens = _require_room(conversation, content)
    _require_funds(user, prompt_tokens, settings or ChatSettings.parse(conversation.settings))
    if settings is not None:
        conversation.settings = settings.as_json()
    if not conversation.title:
        conversation.title = content[:TITLE_CHARS] + ("…" if len(content) > TITLE_CHARS else "")
    user_request_admit(user=user, count=len(conversation.model_names))  # one request per answer
    conversation.updated = timezone.now()
    conversation.save()
    prompt = Message.objects.create(conversation=conversation, role=Message.Role.USER, content=content)
    answers = [
        Message.objects.create(
            conversation=conversation,
            role=Message.Role.ASSISTANT,
            model_name=name,
            reply_to=prompt,
            status=Message.Status.PENDING,
        )
        for name in conversation.model_names
    ]
    return prompt, answers


ABANDONED_ANSWER = (
    "This answer stopped when the server generating it went away (restarted or crashed) and nothing was "
    "charged for it; send the message again."
)


def answers_fail_abandoned(*, older_than: timedelta | None = None) -> int:
    """Fail the answers still pending or streaming long after any answer could have ended.

    A web process that dies mid-answer leaves its answer "streaming" for ever, and the page would wait on
    it; its hold on the balance is released by billing's own sweep. An answer still running when this
    runs (never, within MODELFACTORY_ANSWER_MAX_S) would overwrite the failure when it is recorded.
    """
    older_than = older_than or timedelta(seconds=django_settings.MODELFACTORY_ANSWER_MAX_S + 300)
    return Message.objects.filter(
        role=Message.Role.ASSISTANT,
        status__in=[Message.Status.PENDING, Message.Status.STREAMING],
        created__lt=timezone.now() - older_than,
    ).update(status=Message.Status.FAILED, error=ABANDONED_ANSWER)
