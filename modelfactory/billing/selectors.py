"""Reads of prepaid balances: a user's balance and journal, and the charges behind receipts and epochs.

Sums are taken in Python over exact integers: SQLite would add these 78-digit columns as floats
(`base_units_field`), and an epoch must pay out what was charged to the base unit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import QuerySet

from modelfactory.billing.models import Balance, JournalEntry, Reservation
from modelfactory.ledger.models import InferenceReceipt

Kind = JournalEntry.Kind


@dataclass(frozen=True)
class BalanceView:
    """What a user has: `available` to spend now, `reserved` for answers being generated (base units)."""

    available: int = 0
    reserved: int = 0

    @property
    def total(self) -> int:
        return self.available + self.reserved


def balance_of(user) -> BalanceView:
    """The user's balance; zero for anyone who never deposited (or is not signed in)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return BalanceView()
    row = Balance.objects.filter(user_id=user.pk).values_list("available", "reserved").first()
    return BalanceView(*row) if row else BalanceView()


def balance_covers(user, amount: int) -> bool:
    """Whether the available balance covers `amount` now (a hint for pages: only a reservation holds it)."""
    return balance_of(user).available >= amount


def journal_of(
    user, *, kinds: Iterable[str] | None = None, limit: int | None = None
) -> QuerySet[JournalEntry]:
    """The user's journal, newest first, with each entry's reservation and receipt."""
    entries = JournalEntry.objects.filter(user_id=user.pk).select_related("reservation", "receipt")
    if kinds is not None:
        entries = entries.filter(kind__in=list(kinds))
    return entries[:limit] if limit is not None else entries


@dataclass(frozen=True)
class JournalTotals:
    """A user's journal summed by kind; `balance_expected` is what the balance row must equal."""

    deposited: int
    charged: int
    withdrawn: int
    refunded: int
    reserved: int
    released: int

    @property
    def available_expected(self) -> int:
        return self.deposited + self.refunded + self.released - self.reserved - self.withdrawn

    @property
    def reserved_expected(self) -> int:
        return self.reserved - self.charged - self.released


def journal_totals(user) -> JournalTotals:
    """Sums of the user's journal by kind: the audit that the balance is deposits less what was spent."""
    sums = dict.fromkeys(Kind.values, 0)
    for kind, amount in JournalEntry.objects.filter(user_id=user.pk).values_list("kind", "amount"):
        sums[kind] += amount
    return JournalTotals(
        deposited=sums[Kind.DEPOSIT],
        charged=sums[Kind.CHARGE],
        withdrawn=sums[Kind.WITHDRAWAL],
        refunded=sums[Kind.REFUND],
        reserved=sums[Kind.RESERVATION],
        released=sums[Kind.RELEASE],
    )


def deposit_credited(*, tx_hash: str, log_index: int) -> bool:
    """Whether this chain deposit event was already credited (the watcher may skip it)."""
    return JournalEntry.objects.filter(
        kind=Kind.DEPOSIT, tx_hash=tx_hash.lower(), log_index=log_index
    ).exists()


def _receipt_ids(receipts: Iterable[InferenceReceipt] | QuerySet[InferenceReceipt]) -> Iterable:
    if isinstance(receipts, QuerySet):
        return receipts.values("pk")
    return [receipt.pk if isinstance(receipt, InferenceReceipt) else receipt for receipt in receipts]


def charges_by_receipt(receipts: Iterable[InferenceReceipt] | QuerySet[InferenceReceipt]) -> dict[int, int]:
    """Receipt pk → the amount charged to its user for it (receipts with no charge are absent)."""
    charges = JournalEntry.objects.filter(kind=Kind.CHARGE, receipt_id__in=_receipt_ids(receipts))
    return dict(charges.values_list("receipt_id", "amount"))


def charges_in(receipts: Iterable[InferenceReceipt] | QuerySet[InferenceReceipt]) -> int:
    """What was charged for these receipts, in base units: what paying them out may spend."""
    return sum(charges_by_receipt(receipts).values())


def charged_in_epoch(number: int) -> int:
    """What was charged for the receipts assigned to settlement epoch `number`."""
    return charges_in(InferenceReceipt.objects.filter(epoch=number))


def receipts_uncharged(
    receipts: Iterable[InferenceReceipt] | QuerySet[InferenceReceipt],
) -> list[InferenceReceipt]:
    """The receipts with a fee but no charge behind it: nobody paid them, so no epoch may pay them out."""
    charged = set(charges_by_receipt(receipts))
    if not isinstance(receipts, QuerySet):
        receipts = InferenceReceipt.objects.filter(pk__in=_receipt_ids(receipts))
    return [receipt for receipt in receipts if int(receipt.fee) and receipt.pk not in charged]


def reservations_open(user=None) -> QuerySet[Reservation]:
    """Reservations still held (answers being generated), a user's or everyone's."""
    held = Reservation.objects.filter(status=Reservation.Status.OPEN)
    return held.filter(user_id=user.pk) if user is not None else held
