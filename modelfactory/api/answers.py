"""Serving one API call on the in-process engine, and shaping what comes back as OpenAI does.

`answer_start` does everything that can still fail with a clean HTTP error (model lookup, engine
start, prompt too long) before a single byte is sent, so a stream never starts only to fail at once.
`Answer` then gathers the n choices either whole (`finish`) or as server-sent event chunks
(`token_chunks`, `closing_chunks`). A stream's receipt id is chosen up front so that it can be announced
in the headers before the answer, and so its token count, exists.

Every answer is paid for: `answer_start` holds its maximum price from the caller's prepaid balance before
the engine starts (429 `insufficient_quota` when the balance cannot cover it), and `Answer.end`, which
every way out of a request calls, closes that hold exactly once: charged to the receipt of what was
generated (a client that disconnects mid-answer pays for the tokens produced until then), or released
whole when the answer failed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import transaction

from inference.errors import EngineError, EngineStopped, PromptTooLong, RequestCancelled
from inference.request import Completion, RequestHandle
from modelfactory.accounts.throttle_services import answer_slot_release, answer_slot_take
from modelfactory.api.errors import (
    ApiError,
    InvalidParameter,
    Unavailable,
)
from modelfactory.api.logprob_objects import chat_entry, chat_logprobs, completion_logprobs, token_text
from modelfactory.api.models import ApiKey
from modelfactory.api.parameters import CompletionAsk
from modelfactory.api.services import completion_account
from modelfactory.attribution.services import answer_of
from modelfactory.billing.models import Reservation
from modelfactory.billing.services import answer_charge, answer_release, answer_reserve
from modelfactory.catalog.models import PublishedModel
from modelfactory.catalog.selectors import model_for
from modelfactory.serving import engine_runtime

logger = logging.getLogger(__name__)

# Past this many queued requests a new one would wait longer than a client's patience: say so (503).
MAX_QUEUE_DEPTH = 512
# A request that has not finished in this long is cancelled and reported as overload.
ANSWER_TIMEOUT_S = 300.0
# How long an ending answer waits for the engine to stop its choices and say how far they got (one step).
CANCEL_WAIT_S = 10.0


def published_for(key: ApiKey, api_name: str) -> PublishedModel:
    """The model the key's user may call: `ModelNotFound` (404 `model_not_found`) for any other name."""
    return model_for(key.user, api_name)


def engine_error(error: Exception, ask: CompletionAsk) -> ApiError:
    """The engine's per-request errors, as the status a client can act on."""
    if isinstance(error, PromptTooLong):
        param = "messages" if ask.chat else "prompt"
        return InvalidParameter(str(error), param=param, code="context_length_exceeded")
    if isinstance(error, EngineStopped):
        return Unavailable(f"{error}; retry in a moment")
    if isinstance(error, TimeoutError):
        return Unavailable(f"the engine is overloaded: {error}; retry later", code="engine_overloaded")
    if isinstance(error, EngineError):
        return Unavailable(f"the model could not be served: {error}", code="model_unavailable")
    return Unavailable(f"the engine failed: {error}")


@dataclass(frozen=True)
class PromptPlan:
    """One prompt as the engine gets it: its text (for receipts and echo), its tokens, and how many
    tokens each of its choices may add (the request's max_tokens, or what the context leaves)."""

    text: str
    token_ids: tuple[int, ...]
    max_tokens: int


@dataclass
class Answer:
    key: ApiKey
    published: PublishedModel
    ask: CompletionAsk
    prompts: list[PromptPlan]
    handles: list[RequestHandle]
    """One per choice: prompt p's choice c is `handles[p * n + c]`, choice index `p * n + c` as OpenAI."""
    request_id: str = ""
    receipt_id: uuid.UUID = field(default_factory=uuid.uuid4)
    created: int = field(default_factory=lambda: int(time.time()))
    completions: list[Completion | None] = field(default_factory=list)
    accounted: bool = False
    reservation: Reservation | None = None
    slot: int | None = None
    """The caller's concurrent-answer slot (`throttles.answer_slot_take`), given back by `end`."""
    failed: bool = False
    """The engine failed it (or it never started): it is released whole, nobody pays for an error."""
    ended: bool = False
    _end_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def response_id(self) -> str:
        return ("chatcmpl-" if self.ask.chat else "cmpl-") + self.receipt_id.hex

    @property
    def prompt(self) -> str:
        """The prompts as the model saw them, for the receipt's attribution query."""
        return "\n\n".join(plan.text for plan in self.prompts)

    @property
    def prompt_tokens(self) -> int:
        return sum(len(plan.token_ids) for plan in self.prompts)

    @property
    def completion_tokens(self) -> int:
        return sum(len(completion.token_ids) for completion in self.completions if completion is not None)

    def usage(self) -> dict:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }

    def plan_of(self, index: int) -> PromptPlan:
        return self.prompts[index // self.ask.n]

    # --- whole answers --------------------------------------------------------------------------------
    def wait(self) -> None:
        """Block until every choice is done (call it off the event loop); engine errors become ApiErrors."""
        try:
            self.completions = [handle.result(ANSWER_TIMEOUT_S) for handle in self.handles]
        except Exception as error:
            if not isinstance(error, RequestCancelled):  # cancelled by `end`: the client went away
                self.failed = True
            self.cancel_unfinished()
            raise engine_error(error, self.ask) from error

    def account(self) -> None:
        """Receipt, usage and the charge of its fee, once, for what was actually generated: in one
        transaction, so a receipt exists exactly when it was paid for."""
        if not self.accounted:
            produced = [answer_of(completion) for completion in self.completions if completion is not None]
            with transaction.atomic():
                receipt = completion_account(
                    key=self.key,
                    published=self.published,
                    tokens_in=self.prompt_tokens,
                    tokens_out=self.completion_tokens,
                    receipt_id=self.receipt_id if self.ask.stream else None,
                    prompt=self.prompt,
                    answers=produced,
                    request_id=self.request_id,
                )
                answer_charge(reservation=self.reservation, receipt=receipt)
            self.receipt_id = receipt.receipt_id
            self.accounted = True
            logger.info(
                "answered %s model=%s receipt=%s tokens_in=%d tokens_out=%d",
                self.request_id,
                self.published.api_name,
                self.receipt_id,
                self.prompt_tokens,
                self.completion_tokens,
            )

    def end(self) -> None:
        """However the request ended, stop the engine's work for it and close its reservation, once.

        Answered: already charged by `account`. Client gone mid-answer: the choices stop where they are
        and the tokens produced are charged (reading a whole answer and hanging up before its last chunk
        must not make it free). Failed, or no token produced: the hold is released whole.
        """
        with self._end_lock:
            if self.ended:
                return
            self.ended = True
        self.cancel_unfinished()
        try:
            if not self.accounted:
                self._account_what_was_produced()
        finally:
            answer_slot_release(self.slot)

    def _account_what_was_produced(self) -> None:
        try:
            produced = None if self.failed else self._produced()
            if produced is not None:
                self.completions = produced
                self.account()
        except Exception:  # cleanup never raises: servers swallow what a response's closer raises
            logger.exception("answer %s could not be recorded; its hold is released", self.receipt_id)
        finally:
            if not self.accounted:
                answer_release(reservation=self.reservation)

    def _produced(self) -> list[Completion] | None:
        """The choices as far as the engine got once stopped; None when one failed, the engine did not say
        in time, or no token was produced at all (nothing is charged then)."""
        deadline = time.monotonic() + CANCEL_WAIT_S
        completions = []
        for handle in self.handles:
            # A cancelled choice raises here; how far it got is in `completion`.
            with contextlib.suppress(Exception):
                handle.result(max(0.0, deadline - time.monotonic()))
            completion = handle.completion
            if completion is None or completion.finish_reason == "error":
                return None
            completions.append(completion)
        return completions if any(completion.token_ids for completion in completions) else None

    def body(self) -> dict:
        """The response of a non-streaming call, OpenAI's shape plus `attribution_receipt`."""
        choices = []
        for index, completion in enumerate(self.completions):
            assert completion is not None
            finish = "length" if completion.finish_reason == "length" else "stop"
            if self.ask.chat:
                message = {"role": "assistant", "content": completion.text, "refusal": None}
                choices.append(
                    {
                        "index": index,
                        "message": message,
                        "logprobs": self._chat_logprobs(completion),
                        "finish_reason": finish,
                    }
                )
            else:
                plan = self.plan_of(index)
                text = plan.text + completion.text if self.ask.echo else completion.text
                choices.append(
                    {
                        "index": index,
                        "text": text,
                        "logprobs": self._text_logprobs(completion, plan),
                        "finish_reason": finish,
                    }
                )
        return {
            "id": self.response_id,
            "object": "chat.completion" if self.ask.chat else "text_completion",
            "created": self.created,
            "model": self.published.api_name,
            "system_fingerprint": self.published.engine_name,
            "choices": choices,
            "usage": self.usage(),
            "attribution_receipt": str(self.receipt_id),
        }

    def _chat_logprobs(self, completion: Completion) -> dict | None:
        if self.ask.logprobs is None or completion.logprobs is None:
            return None
        tokenizer = engine_runtime.engine().tokenizer
        return chat_logprobs(tokenizer, completion.token_ids, completion.logprobs, completion.top_logprobs)

    def _text_logprobs(self, completion: Completion, plan: PromptPlan) -> dict | None:
        if self.ask.logprobs is None or completion.logprobs is None:
            return None
        tokenizer = engine_runtime.engine().tokenizer
        token_ids, logprobs, tops = (
            list(completion.token_ids),
            list(completion.logprobs),
            list(completion.top_logprobs),
        )
        if self.ask.echo and completion.prompt_logprobs is not None:
            token_ids = list(plan.token_ids) + token_ids
            logprobs = list(completion.prompt_logprobs) + logprobs
            tops = [top or None for top in completion.prompt_top_logprobs] + tops
            tops[0] = None  # the first prompt token has nothing before it, as OpenAI reports it
        return completion_logprobs(tokenizer, token_ids, logprobs, tops)

    # --- streams ----------------------------------------------------------------------------------------
    def token_chunks(self) -> Iterator[str]:
        """SSE events as tokens arrive, choice after choice (blocking: run it off the event loop).

        The engine holds back text that could still become a stop string, so what is streamed is exactly
        the non-streamed text. With logprobs, every token is a chunk (with its text, which may be empty
        while held back); without, only tokens that add text are.
        """
        self.completions = [None] * len(self.handles)
        tokenizer = engine_runtime.engine().tokenizer if self.ask.logprobs is not None else None
        for index, handle in enumerate(self.handles):
            plan = self.plan_of(index)
            offset = 0
            if self.ask.chat:
                yield self._event(
                    index, {"delta": {"role": "assistant", "content": ""}, "finish_reason": None}
                )
            elif self.ask.echo:
                yield self._event(index, self._piece(plan.text))
                offset = len(plan.text)
            for event in handle:
                if tokenizer is not None and event.logprob is not None:
                    yield self._event(
                        index, self._piece(event.text, self._event_logprobs(tokenizer, event, offset))
                    )
                    offset += len(token_text(tokenizer, event.token_id))
                elif event.text:
                    yield self._event(index, self._piece(event.text))
            completion = handle.completion
            if completion is None or completion.finish_reason in ("error", "cancelled"):
                error = completion.error if completion is not None else EngineStopped("no answer")
                # Cancelled is `end`'s doing (the client went away): not a failure, its tokens are paid.
                self.failed = self.failed or completion is None or completion.finish_reason == "error"
                yield sse(engine_error(error, self.ask).body())
                self.cancel_unfinished()
                return
            self.completions[index] = completion
            finish = "length" if completion.finish_reason == "length" else "stop"
            yield self._event(index, {**self._piece(""), "finish_reason": finish})

    def _event_logprobs(self, tokenizer, event, offset: int) -> dict:
        if self.ask.chat:
            return {
                "content": [chat_entry(tokenizer, event.token_id, event.logprob, event.top_logprobs)],
                "refusal": None,
            }
        return completion_logprobs(
            tokenizer, [event.token_id], [event.logprob], [event.top_logprobs], offset=offset
        )

    def complete(self) -> bool:
        return bool(self.completions) and all(completion is not None for completion in self.completions)

    def closing_chunks(self) -> Iterator[str]:
        """After accounting: the usage chunk when asked for, and the terminator."""
        if self.ask.include_usage:
            yield sse({**self._envelope(), "choices": [], "usage": self.usage()})
        yield "data: [DONE]\n\n"

    def cancel_unfinished(self) -> None:
        """Free the engine's slots of choices nobody will read (client gone, or an error)."""
        for handle in self.handles:
            if not handle.done():
                handle.cancel()

    def _piece(self, text: str, logprobs: dict | None = None) -> dict:
        if self.ask.chat:
            return {"delta": {"content": text} if text else {}, "logprobs": logprobs, "finish_reason": None}
        return {"text": text, "logprobs": logprobs, "finish_reason": None}

    def _envelope(self) -> dict:
        return {
            "id": self.response_id,
            "object": "chat.completion.chunk" if self.ask.chat else "text_completion",
            "created": self.created,
            "model": self.published.api_name,
            "system_fingerprint": self.published.engine_name,
            "attribution_receipt": str(self.receipt_id),
        }

    def _event(self, index: int, choice: dict) -> str:
        return sse({**self._envelope(), "choices": [{"index": index, "logprobs": None, **choice}]})


def sse(payload: dict) -> str:
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n"


def answer_start(*, key: ApiKey, ask: CompletionAsk, request_id: str = "") -> Answer:
    """Look the model up for the key's user, start the engine if needed, and submit every choice of every
    prompt.

    Blocking (model load on first call, tokenisation): views run it off the event loop.
    """
    published = published_for(key, ask.model)
    try:
        running = engine_runtime.engine()
        # The scheduler's waiting list, not stats(): that one sorts latency samples, too dear per request.
        if len(running.scheduler.waiting) > MAX_QUEUE_DEPTH:
            raise Unavailable(
                f"the engine is overloaded ({MAX_QUEUE_DEPTH}+ requests queued); retry in a few seconds",
                code="engine_overloaded",
            )
        plans = prompt_plans(ask, running)
        requests = [
            engine_runtime.request_for(
                published,
                prompt_token_ids=list(plan.token_ids),
                sampling=ask.sampling_for(choice, max_tokens=plan.max_tokens),
            )
            for plan in plans
            for choice in range(ask.n)
        ]
    except ApiError:
        raise
    except Exception as error:
        raise engine_error(error, ask) from error
    slot = answer_slot_take(user=key.user)  # `Throttled` (429) past the account's answers in flight
    try:
        reservation = answer_hold(key=key, published=published, ask=ask, plans=plans)
    except Exception:
        answer_slot_release(slot)
        raise
    answer = Answer(
        key=key,
        published=published,
        ask=ask,
        prompts=plans,
        handles=[],
        request_id=request_id,
        reservation=reservation,
        slot=slot,
    )
    try:
        answer.handles = [running.submit(request) for request in requests]
        for handle in answer.handles:  # errors about the request itself (too long, ...) are known at submit
            completion = handle.completion
            if completion is not None and completion.error is not None:
                raise engine_error(completion.error, ask)
    except Exception as error:
        answer.failed = True
        answer.end()  # stops the choices already submitted and gives the hold back
        if isinstance(error, ApiError):
            raise
        raise engine_error(error, ask) from error
    return answer


def prompt_plans(ask: CompletionAsk, running) -> list[PromptPlan]:
    """Each prompt's text and tokens, and how many tokens its choices may add.

    Without max_tokens, as OpenAI: as many as the context leaves after the prompt. With it, prompt and
    max_tokens must fit in the context together (400 `context_length_exceeded` naming the parameter),
    rather than an answer cut short where the client asked for more.
    """
    tokenizer, context = running.tokenizer, running.max_model_len
    param = "messages" if ask.chat else "prompt"
    items = [engine_runtime.chat_prompt(list(ask.messages))] if ask.chat else list(ask.prompts)
    plans = []
    for item in items:
        if isinstance(item, str):
            token_ids = tuple(tokenizer(item)["input_ids"])
            text = item
        else:
            if any(token >= len(tokenizer) for token in item):
                raise InvalidParameter(
                    f"prompt: token ids must be below the vocabulary size {len(tokenizer)}", param="prompt"
                )
            token_ids, text = tuple(item), tokenizer.decode(list(item))
        room = context - len(token_ids)
        if room < 1:
            raise InvalidParameter(
                f"the {param} has {len(token_ids)} tokens but the model's context is {context}; shorten it",
                param=param,
                code="context_length_exceeded",
            )
        if ask.max_tokens is not None and ask.max_tokens > room:
            raise InvalidParameter(
                f"{ask.max_tokens_param} is {ask.max_tokens} but the {param} ({len(token_ids)} tokens) "
                f"leaves room for {room} in the model's context of {context}: ask for at most {room}, "
                f"or leave {ask.max_tokens_param} out to get as many as fit",
                param=ask.max_tokens_param,
                code="context_length_exceeded",
            )
        plans.append(PromptPlan(text=text, token_ids=token_ids, max_tokens=ask.max_tokens or room))
    return plans


def answer_hold(
    *, key: ApiKey, published: PublishedModel, ask: CompletionAsk, plans: list[PromptPlan]
) -> Reservation | None:
    """Hold the answer's maximum price (the prompts, and each choice's max_tokens) from the caller's
    balance; None for a free model. A balance that cannot cover it raises `InsufficientBalance`
    (the API's 429 insufficient_quota)."""
    return answer_reserve(
        user=key.user,
        published=published,
        tokens_in=sum(len(plan.token_ids) for plan in plans),
        tokens_out_max=ask.n * sum(plan.max_tokens for plan in plans),
    )
