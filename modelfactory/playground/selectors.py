"""Reads for the playground; every one is scoped to the asking user, so no view can leak another's chat."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from modelfactory.catalog.models import PublishedModel
from modelfactory.catalog.selectors import default_base_model, models_usable_by
from modelfactory.ledger.models import InferenceReceipt
from modelfactory.ledger.receipt_evidence import receipt_evidence
from modelfactory.ledger.selectors import people_by_wallet
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


def playground_models(user) -> QuerySet[PublishedModel]:
    """The models the chooser offers: exactly those the catalog lets this user call."""
    return models_usable_by(user).order_by("kind", "title")


def default_model_name(user, models: list[PublishedModel]) -> str | None:
    """The model a new chat starts with: the one this user chatted with or published most recently,
    else the default base model; never just whichever sorts first in the chooser."""
    usable = {model.api_name for model in models}
    recent: list[tuple] = []
    last_chat = conversations_of(user).first()
    if last_chat is not None:
        names = [name for name in last_chat.model_names if name in usable]
        if names:
            recent.append((last_chat.updated, names[0]))
    last_published = (
        PublishedModel.objects.filter(owner=user, is_live=True, api_name__in=usable)
        .exclude(kind=PublishedModel.Kind.BASE)
        .order_by("-updated")
        .first()
    )
    if last_published is not None:
        recent.append((last_published.updated, last_published.api_name))
    if recent:
        return max(recent)[1]
    default_base = default_base_model()
    if default_base is not None and default_base.name in usable:
        return default_base.name
    return models[0].api_name if models else None


def _chat(
    conversation: Conversation, *, model_name: str, system_prompt: str, up_to_prompt_id: int | None = None
) -> list[dict[str, str]]:
    """System prompt, then each prompt (up to ``up_to_prompt_id``) with ``model_name``'s own answer."""
    chat: list[dict[str, str]] = []
    if system_prompt.strip():
        chat.append({"role": "system", "content": system_prompt})
    prompts = conversation.messages.filter(role=Message.Role.USER).order_by("id")
    answers = conversation.messages.filter(role=Message.Role.ASSISTANT, model_name=model_name).exclude(
        content=""
    )
    if up_to_prompt_id is not None:
        prompts = prompts.filter(pk__lte=up_to_prompt_id)
        answers = answers.filter(reply_to_id__lt=up_to_prompt_id)
    earlier = {reply.reply_to_id: reply.content for reply in answers}
    for prompt in prompts:
        chat.append({"role": "user", "content": prompt.content})
        if prompt.pk in earlier:
            chat.append({"role": "assistant", "content": earlier[prompt.pk]})
    return chat


def history_for(answer: Message) -> list[dict[str, str]]:
    """The chat the model sees for `answer`: system prompt, earlier turns with *its own* earlier answers.

    In side-by-side mode each model continues its own thread; it never sees the other model's answers.
    """
    conversation = answer.conversation
    return _chat(
        conversation,
        model_name=answer.model_name,
        system_prompt=conversation.system_prompt,
        up_to_prompt_id=answer.reply_to_id,
    )


def next_turn_chat(
    conversation: Conversation | None, *, model_name: str, system_prompt: str, draft: str
) -> list[dict[str, str]]:
    """The chat ``model_name`` would see if ``draft`` were sent now, with ``system_prompt``."""
    if conversation is None:
        chat = [{"role": "system", "content": system_prompt}] if system_prompt.strip() else []
    else:
        chat = _chat(conversation, model_name=model_name, system_prompt=system_prompt)
    if draft.strip():
        chat.append({"role": "user", "content": draft.strip()})
    return chat


def conversation_thread(conversation: Conversation | None) -> list[dict]:
    """Every prompt with each model's answer text, for "Copy as curl / Python": the page rebuilds from
    it, per chosen model, the same messages `history_for` gives that model."""
    if conversation is None:
        return []
    return [
        {"prompt": prompt.content, "answers": {a.model_name: a.content for a in prompt.replies if a.content}}
        for prompt in conversation_turns(conversation)
    ]


@dataclass(frozen=True)
class ContextMeter:
    tokens: int
    context_length: int
    largest_prompt: int
    left_out: int
    fits: bool

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.tokens / self.context_length)) if self.context_length else 0


def context_meter(
    user, *, conversation_id: int | None, model_names: list[str], system_prompt: str, draft: str
) -> ContextMeter | None:
    """How much of the context the next prompt would take, for the largest of the chosen models' threads
    (each model sees its own answers); None when no chosen model may be used."""
    from modelfactory.playground.context_window import fit_chat
    from modelfactory.serving import engine_runtime

    conversation = conversation_for(user, conversation_id) if conversation_id else None
    usable = set(models_usable_by(user).filter(api_name__in=model_names).values_list("api_name", flat=True))
    names = [name for name in model_names if name in usable]
    if not names:
        return None
    running_engine = engine_runtime.engine()
    fits = [
        fit_chat(
            next_turn_chat(conversation, model_name=name, system_prompt=system_prompt, draft=draft),
            running_engine,
        )
        for name in names
    ]
    fit = max(fits, key=lambda f: f.tokens)
    return ContextMeter(fit.tokens, fit.context_length, fit.largest_prompt, fit.left_out, fit.fits)


TOP_CONTRIBUTORS = 10


def attribution_panel(receipt: InferenceReceipt, viewer=None) -> dict:
    """What the panel under an answer shows, read from its receipt alone (the receipt is the record).

    Contributors are sorted by weight and cut to the top few, named where a person here holds the wallet;
    weights become percentages for the bars.
    `evidence` (methods, their weights, the most influential rows) fills in once the attribution job ran.
    """
    attribution = receipt.attribution_record
    datanet_weights = attribution.datanets
    contributors = sorted(attribution.contributors.items(), key=lambda item: -item[1])
    top = contributors[:TOP_CONTRIBUTORS]
    names = people_by_wallet([wallet for wallet, _ in top])
    return {
        "receipt": receipt,
        "base_model": receipt.base_model,
        "adapters": receipt.adapters,
        "datanets": [
            {**version, "weight_percent": round(100 * datanet_weights.get(version["datanet"], 0), 1)}
            for version in receipt.datanet_versions
        ],
        "contributors": [
            {
                "wallet": wallet,
                "name": names.get(wallet.lower(), ""),
                "weight_percent": round(100 * weight, 1),
            }
            for wallet, weight in top
        ],
        "more_contributors": max(0, len(contributors) - TOP_CONTRIBUTORS),
        "methods": attribution.methods,
        "evidence": receipt_evidence(receipt, viewer),
    }
