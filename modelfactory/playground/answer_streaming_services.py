"""Streaming one answer: claim it, run it on the engine, send its tokens as server-sent events, record it.

The stream is the answer's only producer: the page opens `/playground/stream/<id>/`, this module
claims the pending answer, submits it to the process's engine and forwards each token. When the
engine finishes (or the user presses Stop, or the client goes away) the text so far is saved and a
receipt is recorded, so a stopped answer keeps its partial text and its attribution.

Every answer is paid for from the user's prepaid balance: `answer_begin` holds its maximum price (the
prompt and max_tokens at the model's rates) before the engine starts, and refuses with the way to
deposit when the balance cannot cover it; `answer_finish` charges the receipt's fee in the receipt's own
transaction and releases the rest, or releases it all when the answer failed.

Two generators share the steps: a plain one for WSGI (the dev and test servers) and an async one
for ASGI (uvicorn), because Django buffers a sync iterator served over ASGI, and vice versa, which
would turn a stream into one late blob.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from asgiref.sync import sync_to_async
from django.db import transaction

from modelfactory.accounts.errors import Throttled
from modelfactory.accounts.throttle_services import answer_slot_release, answer_slot_take
from modelfactory.attribution.services import answer_of, answer_receipt_record
from modelfactory.billing.errors import BillingError, InsufficientBalance
from modelfactory.billing.services import answer_charge, answer_release, answer_reserve
from modelfactory.catalog.selectors import ModelNotFound, model_for
from modelfactory.playground import stop_signal_services
from modelfactory.playground.answer_markdown import render_markdown
from modelfactory.playground.chat_settings import ChatSettings
from modelfactory.playground.context_window import fit_chat
from modelfactory.playground.errors import ConversationTooLong, InvalidSettings
from modelfactory.playground.models import Message
from modelfactory.playground.selectors import answer_for, history_for
from modelfactory.serving import engine_runtime

if TYPE_CHECKING:
    from inference.request import RequestHandle
    from modelfactory.billing.models import Reservation
    from modelfactory.catalog.models import PublishedModel


class AnswerNotStartable(Exception):
    """The answer is finished, already streaming elsewhere, its model may no longer be used, or the
    balance cannot pay for it (then `deposit_url` says where to add funds)."""

    def __init__(self, message: str, *, deposit_url: str | None = None) -> None:
        super().__init__(message)
        self.deposit_url = deposit_url

    def frame(self) -> bytes:
        extra = {"deposit_url": self.deposit_url} if self.deposit_url else {}
        return server_event("error", {"message": str(self), **extra})


@dataclass
class RunningAnswer:
    answer: Message
    published: PublishedModel
    handle: RequestHandle
    tokens_in: int
    reservation: Reservation | None = None
    slot: int | None = None


def server_event(name: str, data: dict) -> bytes:
    """One SSE frame; data is JSON so newlines in generated text cannot break the framing."""
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def finished_events(answer: Message) -> list[bytes]:
    """What a client reconnecting to a finished answer gets: its text, then done (or its error)."""
    frames = [server_event("token", {"text": answer.content})] if answer.content else []
    if answer.status == Message.Status.FAILED:
        return [*frames, server_event("error", {"message": answer.error or "this answer failed"})]
    return [*frames, server_event("done", _done_data(answer))]


def _done_data(answer: Message) -> dict:
    """The end of an answer: its status, its receipt, and its text as the page shows it (Markdown
    rendered by the server, as it is when the page is loaded again)."""
    return {
        "message_id": answer.pk,
        "status": answer.status,
        "receipt_id": str(answer.receipt.receipt_id) if answer.receipt_id else None,
        "html": render_markdown(answer.content),
    }


def answer_begin(*, user, answer_id: int) -> RunningAnswer | Message:
    """Claim a pending answer and submit it; a finished answer is returned as is (for a replay).

    Raises `AnswerNotStartable` (and marks the answer failed) when it cannot run: the model was
    unpublished or the user lost access since sending, the prompt does not fit even with the oldest
    turns left out (`context_window`), or it is already streaming in another connection.
    """
    answer = answer_for(user, answer_id)
    if answer.finished:
        return answer
    claimed = Message.objects.filter(pk=answer.pk, status=Message.Status.PENDING).update(
        status=Message.Status.STREAMING
    )
    if not claimed:
        raise AnswerNotStartable("this answer is already streaming in another tab or connection")
    slot, handle = None, None
    try:
        slot = answer_slot_take(user=user)
        published = model_for(user, answer.model_name)
        settings = ChatSettings.parse(answer.conversation.settings)
        running_engine = engine_runtime.engine()
        fit = fit_chat(history_for(answer), running_engine)
        if not fit.fits:
            raise ConversationTooLong(
                tokens=fit.tokens, largest_prompt=fit.largest_prompt, context_length=fit.context_length
            )
        request = engine_runtime.request_for(published, prompt=fit.prompt, sampling=settings.sampling())
        reservation = answer_reserve(
            user=user, published=published, tokens_in=fit.tokens, tokens_out_max=settings.max_tokens
        )
        try:
            handle = running_engine.submit(request)
        except Exception:
            answer_release(reservation=reservation)
            raise
        tokens_in = fit.tokens
    except InsufficientBalance as error:
        _fail(answer, str(error))
        raise AnswerNotStartable(str(error), deposit_url=error.deposit_path) from error
    except (Throttled, ModelNotFound, InvalidSettings, ConversationTooLong) as error:  # access denied too
        _fail(answer, str(error))
        raise AnswerNotStartable(str(error)) from error
    except Exception as error:  # an engine that cannot start must fail this answer, not hang the page
        _fail(answer, f"the model could not run this answer: {error}")
        raise AnswerNotStartable(f"the model could not run this answer: {error}") from error
    finally:
        if handle is None:  # not started: the slot goes back now, not when the answer ends
            answer_slot_release(slot)
    stop_signal_services.track(answer.pk, handle)
    return RunningAnswer(
        answer=answer,
        published=published,
        handle=handle,
        tokens_in=tokens_in,
        reservation=reservation,
        slot=slot,
    )


def _fail(answer: Message, reason: str) -> None:
    answer.status, answer.error = Message.Status.FAILED, reason
    answer.save(update_fields=["status", "error"])


def answer_finish(*, user, running: RunningAnswer, timeout: float = 60) -> Message:
    """Save the text the engine produced (all, or up to Stop), record the answer's receipt and charge its
    fee to the reservation (the rest is released); a failed answer is released whole."""
    handle = running.handle
    try:
        handle.result(timeout)
    except Exception:  # cancelled and failed requests are read from `completion` below
        pass
    finally:
        stop_signal_services.untrack(running.answer.pk)
    try:
        return _record(user=user, running=running)
    finally:
        answer_slot_release(running.slot)


def _record(*, user, running: RunningAnswer) -> Message:
    handle = running.handle
    completion = handle.completion
    answer = running.answer
    if completion is None or completion.finish_reason == "error":
        handle.cancel()  # one that did not finish in time stops here: nobody pays for it
        error = completion.error if completion is not None else "the model did not finish in time"
        _fail(answer, f"the model failed while answering: {error}")
        answer_release(reservation=running.reservation)
        return answer
    charged = False
    try:
        with transaction.atomic():
            answer.content = completion.text
            answer.status = (
                Message.Status.STOPPED if completion.finish_reason == "cancelled" else Message.Status.DONE
            )
            receipt = answer_receipt_record(
                published=running.published,
                tokens_in=running.tokens_in,
                tokens_out=len(completion.token_ids),
                user=user,
                prompt=handle.request.prompt,
                answers=[answer_of(completion)],
            )
            answer_charge(reservation=running.reservation, receipt=receipt)
            answer.receipt = receipt
            answer.save(update_fields=["content", "status", "receipt"])
        charged = True
    except BillingError as error:  # rolled back with its receipt: served, but not charged, so not kept
        answer.receipt = None
        _fail(answer, f"this answer could not be charged: {error}")
    finally:
        if not charged:
            answer_release(reservation=running.reservation)
    return answer


def answer_stop(*, user, answer_id: int) -> Message:
    """Stop an answer: keep it from starting if pending, else cancel it on whichever replica streams it."""
    answer = answer_for(user, answer_id)
    Message.objects.filter(pk=answer.pk, status=Message.Status.PENDING).update(status=Message.Status.STOPPED)
    stop_signal_services.stop(answer.pk)
    answer.refresh_from_db()
    return answer


def _end_frame(answer: Message) -> bytes:
    if answer.status == Message.Status.FAILED:
        return server_event("error", {"message": answer.error})
    return server_event("done", _done_data(answer))


def answer_events(*, user, answer_id: int) -> Iterator[bytes]:
    """The SSE stream for a WSGI server: `token` frames as they come, then `done` or `error`."""
    yield b": stream open\n\n"
    try:
        begun = answer_begin(user=user, answer_id=answer_id)
    except AnswerNotStartable as error:
        yield error.frame()
        return
    if isinstance(begun, Message):
        yield from finished_events(begun)
        return
    completed = False
    try:
        for event in begun.handle:
            if event.text:
                yield server_event("token", {"text": event.text})
        completed = True
    finally:
        if not completed:  # the client went away mid-stream: stop generating, keep what there is
            begun.handle.cancel()
            answer_finish(user=user, running=begun)
    yield _end_frame(answer_finish(user=user, running=begun))


_END = object()


async def answer_events_async(*, user, answer_id: int) -> AsyncIterator[bytes]:
    """The same stream for ASGI: waits for tokens off the event loop, cancels when the client leaves."""
    yield b": stream open\n\n"
    try:
        begun = await sync_to_async(answer_begin)(user=user, answer_id=answer_id)
    except AnswerNotStartable as error:
        yield error.frame()
        return
    if isinstance(begun, Message):
        for frame in finished_events(begun):
            yield frame
        return
    tokens = iter(begun.handle)
    completed = False
    try:
        while (event := await asyncio.to_thread(next, tokens, _END)) is not _END:
            if event.text:
                yield server_event("token", {"text": event.text})
        completed = True
    finally:
        if not completed:  # shielded: a second cancellation must not leave the answer unrecorded
            begun.handle.cancel()
            await asyncio.shield(sync_to_async(answer_finish)(user=user, running=begun))
    yield _end_frame(await sync_to_async(answer_finish)(user=user, running=begun))
