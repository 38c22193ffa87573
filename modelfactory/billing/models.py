"""Prepaid OPEN balances: what each user has, what is held for answers in progress, and every change.

Three tables, each with one job:
- `Balance` is the row that is locked whenever a user's money moves, so two answers (or an answer and a
  withdrawal) can never both spend the same base units; the database itself refuses a negative amount.
- `JournalEntry` is the append-only record of every change with the balance it left, so the balance can
  be re-derived from it, and each external event (a chain deposit, a receipt, a reservation's close, a
  refunded withdrawal) is recorded at most once by a unique constraint, not by a check in Python.
- `Reservation` is the price an answer may reach, held before the engine starts and closed exactly once
  when the answer ends: charged to its receipt's fee, the rest released.

Amounts are whole base units (10⁻¹⁸ OPEN) in `BaseUnitsField`, exact on PostgreSQL and SQLite.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from modelfactory.billing.base_units_field import BaseUnitsField


class Balance(models.Model):
    """One user's prepaid OPEN: `available` to spend, `reserved` for answers still being generated."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="billing_balance"
    )
    available = BaseUnitsField(default=0)
    reserved = BaseUnitsField(default=0)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(available__gte=0), name="billing_available_never_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="billing_reserved_never_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.available} available, {self.reserved} reserved"


class Reservation(models.Model):
    """The most an answer may cost, held from the user's balance while it is generated."""

    class Status(models.TextChoices):
        OPEN = "open", "Held"
        SETTLED = "settled", "Charged"
        RELEASED = "released", "Released"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reservations")
    amount = BaseUnitsField(help_text="Held, in base units: the answer's maximum price.")
    charged = BaseUnitsField(
        default=0, help_text="What the answer cost, once settled; the rest was released."
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    model_name = models.CharField(max_length=100, blank=True, help_text="The answering model's API name.")
    receipt = models.OneToOneField(
        "ledger.InferenceReceipt",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reservation",
        help_text="The receipt it was charged to.",
    )
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    closed = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="billing_reservation_holds_something"),
            models.CheckConstraint(condition=Q(charged__gte=0), name="billing_charge_never_negative"),
        ]

    def __str__(self) -> str:
        return f"reservation {self.pk} of {self.user} ({self.status})"


class JournalEntry(models.Model):
    """One change of a balance, never edited or deleted; `amount` is always a magnitude (≥ 0).

    What each kind does to (available, reserved): deposit (+a, 0), reservation (−a, +a), charge (0, −a),
    release (+a, −a), withdrawal (−a, 0), refund (+a, 0).
    """

    class Kind(models.TextChoices):
        DEPOSIT = "deposit", "Deposit"
        RESERVATION = "reservation", "Held for an answer"
        CHARGE = "charge", "Charge"
        RELEASE = "release", "Released"
        WITHDRAWAL = "withdrawal", "Withdrawal"
        REFUND = "refund", "Withdrawal refunded"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="billing_journal"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, db_index=True)
    amount = BaseUnitsField()
    available_after = BaseUnitsField()
    reserved_after = BaseUnitsField()
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    # --- what it refers to, by kind ---
    reservation = models.ForeignKey(
        Reservation, on_delete=models.PROTECT, null=True, blank=True, related_name="entries"
    )
    receipt = models.ForeignKey(
        "ledger.InferenceReceipt", on_delete=models.PROTECT, null=True, blank=True, related_name="charges"
    )
    tx_hash = models.CharField(max_length=66, blank=True, help_text="A deposit's transaction, 0x-hex.")
    log_index = models.PositiveIntegerField(null=True, blank=True, help_text="A deposit's event in it.")
    block_number = models.PositiveBigIntegerField(null=True, blank=True)
    reference = models.CharField(
        max_length=100, blank=True, help_text="A withdrawal's external reference (its voucher)."
    )
    refund_of = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="refund"
    )

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name_plural = "journal entries"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="billing_entry_amount_never_negative"),
            models.UniqueConstraint(
                fields=["tx_hash", "log_index"],
                condition=Q(kind="deposit"),
                name="billing_deposit_credited_once",
            ),
            models.CheckConstraint(
                condition=~Q(kind="deposit") | (~Q(tx_hash="") & Q(log_index__isnull=False)),
                name="billing_deposit_names_its_event",
            ),
            models.UniqueConstraint(
                fields=["reservation", "kind"],
                condition=Q(reservation__isnull=False),
                name="billing_reservation_entry_once_per_kind",
            ),
            models.UniqueConstraint(
                fields=["receipt"], condition=Q(kind="charge"), name="billing_receipt_charged_once"
            ),
            models.CheckConstraint(
                condition=~Q(kind="refund") | Q(refund_of__isnull=False),
                name="billing_refund_names_withdrawal",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} · {self.user}"
