"""Reads for the playground; every one is scoped to the asking user, so no view can leak another's chat."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from modelfactory.catalog.models import PublishedModel
from modelfactory.catalog.selectors import models_usable_by
from modelfactory.ledger.models import InferenceReceipt
from modelfactory.playground.errors import PlaygroundItemNotFound
from modelfactory.playground.models import Conversation, Message


def conversations_of(user) -> QuerySet[Conversation]:
    """The user's conversations, newest activity first (the sidebar)."""
    return Conversation.objects.filter(user=user).order_by("-updated", "-id")


def conversation_for(user, conversation_id: int) -> Conversation:
    """One of the user's conversations; not found for anyone else's, so their existence is not revealed."""
    conversation = conversations_of(user).filter(pk=conversation_id).first()
    if conversation is None:
        raise PlaygroundItemNotFound(f"no conversation {conversation_id} of yours; pick one from the list")
    return conversation


def conversation_turns(conversation: Conversation) -> list[Message]:
    """The user's prompts in order, each with its answers prefetched as `.replies` (one or two)."""
    answers = Message.objects.filter(role=Message.Role.ASSISTANT).select_related("receipt").order_by("id")
    return list(
        conversation.messages.filter(role=Message.Role.USER)
        .order_by("id")
        .prefetch_related(Prefetch("answers", queryset=answers, to_attr="replies"))
    )


def answer_for(user, message_id: int) -> Message:
    """An answer in one of the user's conversations, or not found."""
    message = (
        Message.objects.filter(pk=message_id, role=Message.Role.ASSISTANT, conversation__user=user)
        .select_related("conversation", "reply_to", "receipt")
        .first()
    )
    if message is None:
        raise PlaygroundItemNotFound(f"no answer {message_id} in your conversations")
    return message


def receipt_for(user, receipt_id) -> InferenceReceipt:
    """A receipt of one of the user's playground answers; others' receipts are not found."""
    receipt = InferenceReceipt.objects.filter(receipt_id=receipt_id, user=user).first()
    if receipt is None:
        raise PlaygroundItemNotFound(f"no receipt {receipt_id} for your answers")
    return receipt


def playground_models(user) -> QuerySet[PublishedModel]:
    """The models the chooser offers: exactly those the catalog lets this user call."""
    return models_usable_by(user).order_by("kind", "title")


def history_for(answer: Message) -> list[dict[str, str]]:
    """The chat the model sees for `answer`: system prompt, earlier turns with *its own* earlier answers.

    In side-by-side mode each model continues its own thread; it never sees the other model's answers.
    """
    conversation = answer.conversation
    chat: list[dict[str, str]] = []
    if conversation.system_prompt.strip():
        chat.append({"role": "system", "content": conversation.system_prompt})
    prompts = conversation.messages.filter(role=Message.Role.USER, pk__lte=answer.reply_to_id).order_by("id")
    earlier = {
        reply.reply_to_id: reply.content
        for reply in conversation.messages.filter(
            role=Message.Role.ASSISTANT, model_name=answer.model_name, reply_to_id__lt=answer.reply_to_id
        ).exclude(content="")
    }
    for prompt in prompts:
        chat.append({"role": "user", "content": prompt.content})
        if prompt.pk in earlier:
            chat.append({"role": "assistant", "content": earlier[prompt.pk]})
    return chat


TOP_CONTRIBUTORS = 10


def attribution_panel(receipt: InferenceReceipt, viewer=None) -> dict:
    """What the panel under an answer shows, read from its receipt alone (the receipt is the record).

    Contributors are sorted by weight and cut to the top few; weights become percentages for the bars.
    `evidence` (methods, their weights, the most influential rows) fills in once the attribution job ran.
    """
    from modelfactory.attribution.selectors import receipt_evidence

    attribution = receipt.attribution or {}
    datanet_weights = attribution.get("datanets", {})
    contributors = sorted(attribution.get("contributors", {}).items(), key=lambda item: -item[1])
    return {
        "receipt": receipt,
        "base_model": receipt.base_model,
        "adapters": receipt.adapters,
        "datanets": [
            {**version, "weight_percent": round(100 * datanet_weights.get(version["datanet"], 0), 1)}
            for version in receipt.datanet_versions
        ],
        "contributors": [
            {"wallet": wallet, "weight_percent": round(100 * weight, 1)}
            for wallet, weight in contributors[:TOP_CONTRIBUTORS]
        ],
        "more_contributors": max(0, len(contributors) - TOP_CONTRIBUTORS),
        "methods": attribution.get("methods", []),
        "evidence": receipt_evidence(receipt, viewer),
    }
