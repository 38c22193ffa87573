"""Writes of prepaid balances: credit deposits, hold an answer's price, charge or release it, withdraw.

Every change goes through `_post`, which runs with the user's `Balance` row locked (`SELECT … FOR
UPDATE` on PostgreSQL; SQLite runs every transaction IMMEDIATE, one writer at a time), checks that
nothing goes below zero, writes the new balance and appends the journal entry that explains it. So:
- two answers of one user can never both spend the same base units (the second waits for the lock
  and then sees what the first left);
- a reservation is closed once: its status is read again under the lock, and the journal's unique
  (reservation, kind) constraint refuses a second charge or release even if that check were wrong;
- a chain deposit is credited once: (tx hash, log index) is unique among deposits in the database.

Locks are always taken balance first, then reservation, so two services can never deadlock.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from modelfactory.billing.errors import ChargeRefused, InsufficientBalance, InvalidAmount, ReservationClosed
from modelfactory.billing.models import Balance, JournalEntry, Reservation
from modelfactory.billing.pricing import answer_price_max, model_is_free
from modelfactory.catalog.models import PublishedModel
from modelfactory.ledger.models import InferenceReceipt

logger = logging.getLogger(__name__)

Kind = JournalEntry.Kind

# What each kind of entry does to (available, reserved), per base unit of its amount.
EFFECT: dict[str, tuple[int, int]] = {
    Kind.DEPOSIT: (1, 0),
    Kind.RESERVATION: (-1, 1),
    Kind.CHARGE: (0, -1),
    Kind.RELEASE: (1, -1),
    Kind.WITHDRAWAL: (-1, 0),
    Kind.REFUND: (1, 0),
}

# An answer that has not closed its reservation after this long belongs to a process that died
# mid-answer (a closed one always settles or releases in a `finally`); its hold is given back. It is far
# above any answer's life: non-streamed API answers time out after 5 minutes, and a stream of the
# longest answer allowed (4,096 tokens) takes minutes on a CPU.
STALE_RESERVATION_AGE = timedelta(hours=1)

_TX_HASH = re.compile(r"0x[0-9a-f]{64}")


def _whole(amount: int, what: str, *, allow_zero: bool = False) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidAmount(f"{what} must be a whole number of base units, not {amount!r}")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise InvalidAmount(f"{what} must be {'0 or more' if allow_zero else 'more than 0'}, not {amount}")
    return amount


def _balance_locked(user_id: int) -> Balance:
    """The user's balance row, created at 0 the first time, locked until the transaction ends."""
    Balance.objects.get_or_create(user_id=user_id)
    return Balance.objects.select_for_update().get(user_id=user_id)


def _post(balance: Balance, *, kind: str, amount: int, **refers_to) -> JournalEntry:
    """Apply one entry to a locked balance and append it to the journal (call inside a transaction)."""
    per_available, per_reserved = EFFECT[kind]
    available = balance.available + per_available * amount
    reserved = balance.reserved + per_reserved * amount
    if available < 0 or reserved < 0:  # the callers check first; this, and the table's checks, back them
        raise InsufficientBalance(available=balance.available, reserved=balance.reserved, needed=amount)
    balance.available, balance.reserved = available, reserved
    balance.save(update_fields=["available", "reserved", "updated"])
    return JournalEntry.objects.create(
        user_id=balance.user_id,
        kind=kind,
        amount=amount,
        available_after=available,
        reserved_after=reserved,
        **refers_to,
    )


# --- deposits --------------------------------------------------------------------------------------------
def deposit_credit(*, user, amount: int, tx_hash: str, log_index: int, block_number: int) -> bool:
    """Credit one on-chain deposit event to the user's balance; False when it was already credited.

    Idempotent, so the chain watcher may replay events after a restart or a reorg-safe rescan: the event
    is identified by (tx hash, log index), unique in the database, so even two watchers crediting the same
    event at the same moment credit it once.
    """
    amount = _whole(amount, "a deposit")
    tx_hash = tx_hash.lower() if isinstance(tx_hash, str) else ""
    if not _TX_HASH.fullmatch(tx_hash):
        raise InvalidAmount(f"a deposit's transaction hash must be 0x and 64 hex digits, not {tx_hash!r}")
    _whole(log_index, "a deposit's log index", allow_zero=True)
    _whole(block_number, "a deposit's block number", allow_zero=True)
    event = JournalEntry.objects.filter(kind=Kind.DEPOSIT, tx_hash=tx_hash, log_index=log_index)
    try:
        with transaction.atomic():
            balance = _balance_locked(user.pk)
            if event.exists():
                return _already_credited(event.get(), user=user, amount=amount)
            _post(
                balance,
                kind=Kind.DEPOSIT,
                amount=amount,
                tx_hash=tx_hash,
                log_index=log_index,
                block_number=block_number,
            )
    except IntegrityError:
        # Another transaction credited the same event between our check and our insert (possible only
        # when it was credited to another user, whose balance we did not lock): it stays credited once.
        if not event.exists():
            raise
        return _already_credited(event.get(), user=user, amount=amount)
    return True


def _already_credited(entry: JournalEntry, *, user, amount: int) -> bool:
    if entry.user_id != user.pk or entry.amount != amount:
        logger.warning(
            "deposit %s#%s was credited as %s to user %s; asked again as %s to user %s: kept as it was",
            entry.tx_hash,
            entry.log_index,
            entry.amount,
            entry.user_id,
            amount,
            user.pk,
        )
    return False


# --- reservations ----------------------------------------------------------------------------------------
@transaction.atomic
def reservation_open(*, user, amount: int, model_name: str = "") -> Reservation:
    """Hold `amount` of the user's available balance for an answer about to be generated.

    Raises `InsufficientBalance` (with what is available and what was needed) when it does not cover it.
    """
    amount = _whole(amount, "a reservation")
    balance = _balance_locked(user.pk)
    if balance.available < amount:
        raise InsufficientBalance(available=balance.available, reserved=balance.reserved, needed=amount)
    reservation = Reservation.objects.create(user_id=user.pk, amount=amount, model_name=model_name[:100])
    _post(balance, kind=Kind.RESERVATION, amount=amount, reservation=reservation)
    return reservation


def _reservation_locked(reservation: Reservation) -> tuple[Balance, Reservation]:
    balance = _balance_locked(reservation.user_id)
    return balance, Reservation.objects.select_for_update().get(pk=reservation.pk)


def _closed(reservation: Reservation, current: Reservation) -> None:
    """Copy the closed state onto the caller's instance, so it does not act on a stale status."""
    for name in ("status", "charged", "receipt_id", "closed"):
        setattr(reservation, name, getattr(current, name))


@transaction.atomic
def reservation_settle(
    *, reservation: Reservation, fee: int, receipt: InferenceReceipt | None = None
) -> None:
    """Charge `fee` (the answer's receipt's fee) from the reservation and give the rest back; once.

    A second close raises `ReservationClosed`: the receipt written in the same transaction then rolls back
    with it, so a receipt exists exactly when its charge does. A positive fee needs its receipt (the
    epoch that pays the fee out checks it against the charges) and may not exceed what was held.
    """
    fee = _whole(fee, "a charge", allow_zero=True)
    balance, current = _reservation_locked(reservation)
    if current.status != Reservation.Status.OPEN:
        raise ReservationClosed(f"reservation {current.pk} is already {current.get_status_display().lower()}")
    if fee > current.amount:
        raise ChargeRefused(f"a charge of {fee} exceeds the {current.amount} held for this answer")
    if receipt is not None and (int(receipt.fee) != fee or receipt.user_id != current.user_id):
        raise ChargeRefused(f"receipt {receipt.receipt_id} is not this answer's (its fee or user differ)")
    if fee and receipt is None:
        raise ChargeRefused("a charge needs the receipt it pays for")
    if fee:
        _post(balance, kind=Kind.CHARGE, amount=fee, reservation=current, receipt=receipt)
    if rest := current.amount - fee:
        _post(balance, kind=Kind.RELEASE, amount=rest, reservation=current)
    current.status, current.charged, current.receipt = Reservation.Status.SETTLED, fee, receipt
    current.closed = timezone.now()
    current.save(update_fields=["status", "charged", "receipt", "closed"])
    _closed(reservation, current)


@transaction.atomic
def reservation_release(*, reservation: Reservation) -> bool:
    """Give the whole reservation back (the answer failed, or never ran); False if it was already closed.

    Safe to call from every `finally` of an answer: after a settle it does nothing.
    """
    balance, current = _reservation_locked(reservation)
    if current.status != Reservation.Status.OPEN:
        _closed(reservation, current)
        return False
    _post(balance, kind=Kind.RELEASE, amount=current.amount, reservation=current)
    current.status, current.closed = Reservation.Status.RELEASED, timezone.now()
    current.save(update_fields=["status", "closed"])
    _closed(reservation, current)
    return True


def reservations_release_stale(*, older_than: timedelta = STALE_RESERVATION_AGE) -> int:
    """Release the reservations of answers whose process died mid-answer; how many were released."""
    cutoff = timezone.now() - older_than
    stale = Reservation.objects.filter(status=Reservation.Status.OPEN, created__lt=cutoff).order_by("pk")
    return sum(reservation_release(reservation=reservation) for reservation in stale)


# --- answers: the reservation of one answer, from its price to its receipt ----------------------------
def answer_reserve(
    *, user, published: PublishedModel, tokens_in: int, tokens_out_max: int
) -> Reservation | None:
    """Hold the most this answer may cost before the engine starts; None for a free model.

    `tokens_out_max` counts every choice (n × max_tokens). Raises `InsufficientBalance`.
    """
    if model_is_free(published):
        return None
    price = answer_price_max(published=published, tokens_in=tokens_in, tokens_out_max=tokens_out_max)
    if price == 0:  # rates so low that the whole answer rounds to nothing
        return None
    return reservation_open(user=user, amount=price, model_name=published.api_name)


def answer_charge(*, reservation: Reservation | None, receipt: InferenceReceipt) -> None:
    """Charge the answer's receipt fee to its reservation; call it in the transaction writing the receipt.

    An answer that held nothing (a free model) may only have a receipt of fee 0: a priced answer
    without a reservation would be served unpaid, so that raises and rolls the receipt back.
    """
    if reservation is None:
        if int(receipt.fee):
            raise ChargeRefused(f"receipt {receipt.receipt_id} has a fee but nothing was held for it")
        return
    reservation_settle(reservation=reservation, fee=int(receipt.fee), receipt=receipt)


def answer_release(*, reservation: Reservation | None) -> None:
    """Give back what an answer held when it ends without a receipt (failed, or refused by the engine)."""
    if reservation is not None:
        reservation_release(reservation=reservation)


# --- withdrawals (the chain's withdrawal vouchers) ---------------------------------------------------
@transaction.atomic
def withdrawal_reserve(*, user, amount: int, reference: str = "") -> JournalEntry:
    """Take `amount` off the available balance before a withdrawal voucher for it is issued.

    Debiting first means the same base units can never be both spent on answers and withdrawn on chain.
    Raises `InsufficientBalance`.
    """
    amount = _whole(amount, "a withdrawal")
    balance = _balance_locked(user.pk)
    if balance.available < amount:
        raise InsufficientBalance(
            available=balance.available, reserved=balance.reserved, needed=amount, what="this withdrawal"
        )
    return _post(balance, kind=Kind.WITHDRAWAL, amount=amount, reference=reference[:100])


def withdrawal_refund(entry: JournalEntry) -> JournalEntry:
    """Give a withdrawal back to the balance, once; a second call returns the first refund.

    Call it only when the voucher can no longer be redeemed on chain (expired or cancelled there):
    otherwise the same base units could be withdrawn and spent again.
    """
    if entry.kind != Kind.WITHDRAWAL:
        raise InvalidAmount(f"journal entry {entry.pk} is a {entry.kind}, not a withdrawal")
    try:
        with transaction.atomic():
            balance = _balance_locked(entry.user_id)
            existing = JournalEntry.objects.filter(refund_of=entry).first()
            if existing is not None:
                return existing
            return _post(balance, kind=Kind.REFUND, amount=entry.amount, refund_of=entry)
    except IntegrityError:
        return JournalEntry.objects.get(refund_of=entry)
