from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

# Exact on SQLite too: a DecimalField there comes back through a 15-digit float, so an epoch's payouts would
# no longer rebuild its committed root, nor add up to what was charged (billing/base_units_field.py).
from modelfactory.billing.base_units_field import BaseUnitsField
from modelfactory.ledger.receipt_attribution import ReceiptAttribution


class InferenceReceipt(models.Model):
    """What produced one answer and who is owed for it; written in the request's own transaction.

    `attribution` holds contributor → weight and datanet → weight (each summing to 1), the methods
    that ran and, once computed off the request path, the most influential training rows; read it as
    `attribution_record` (`ReceiptAttribution`).
    """

    class AttributionStatus(models.TextChoices):
        LINEAGE = "lineage", "Lineage only"
        PENDING = "pending", "Influence pending"
        COMPLETE = "complete", "Complete"
        FAILED = "failed", "Failed (lineage used)"

    receipt_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    api_key_id = models.BigIntegerField(null=True, blank=True, help_text="The API key used, if any.")
    request_id = models.CharField(
        max_length=64, blank=True, default="", help_text="The API request's x-request-id, to match logs."
    )
    published_model = models.ForeignKey(
        "catalog.PublishedModel", on_delete=models.PROTECT, related_name="receipts"
    )
    model_name = models.CharField(max_length=100, help_text="The API name at the time of the request.")
    base_model = models.CharField(max_length=100)
    adapters = models.JSONField(default=list, help_text='[{"name": ..., "version": ..., "weight": ...}]')
    datanet_versions = models.JSONField(
        default=list, help_text='[{"datanet": ..., "version": ..., "merkle_root": ...}]'
    )
    tokens_in = models.PositiveIntegerField()
    tokens_out = models.PositiveIntegerField()
    fee = BaseUnitsField(help_text="In OPEN base units.")
    split = models.JSONField(default=dict, help_text="Role and contributor → amount in base units.")
    attribution = models.JSONField(default=dict)
    attribution_status = models.CharField(
        max_length=16, choices=AttributionStatus.choices, default=AttributionStatus.LINEAGE
    )
    epoch = models.PositiveIntegerField(
        null=True, blank=True, db_index=True, help_text="Settlement epoch, once settled."
    )

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return str(self.receipt_id)

    @property
    def attribution_record(self) -> ReceiptAttribution:
        return ReceiptAttribution.from_json(self.attribution)


class Epoch(models.Model):
    """One settlement period: the receipts assigned to it and the payout tree committed on chain.

    The row is written (and its receipts assigned) before anything is sent, so the database, not a
    half-finished chain call, decides what an epoch contains; the chain then says whether it is committed.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Queued"  # closed off-chain, receipts assigned, not sent yet
        COMMITTING = "committing", "Committing"  # a commit was attempted; the chain decides if it landed
        COMMITTED = "committed", "Committed"

    number = models.PositiveIntegerField(unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    payouts_root = models.CharField(max_length=66, help_text="0x-hex Merkle root of (account, amount).")
    receipts_root = models.CharField(max_length=66, help_text="0x-hex Merkle root of the receipt hashes.")
    total = BaseUnitsField(help_text="In OPEN base units.")
    receipt_count = models.PositiveIntegerField()
    created = models.DateTimeField(auto_now_add=True)
    tx_hash = models.CharField(max_length=66, blank=True)
    block_number = models.PositiveBigIntegerField(null=True, blank=True)
    committed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, help_text="Why the last commit attempt did not land.")

    class Meta:
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"epoch {self.number} ({self.status})"


class Payout(models.Model):
    """One account's leaf in an epoch's payout tree, with the proof it needs to claim."""

    epoch = models.ForeignKey(Epoch, on_delete=models.CASCADE, related_name="payouts")
    account = models.CharField(max_length=42, db_index=True, help_text="Checksummed address.")
    amount = BaseUnitsField(help_text="In OPEN base units.")
    proof = models.JSONField(default=list, help_text="0x-hex sibling hashes, leaf to root.")
    claimed = models.BooleanField(default=False)
    claim_tx = models.CharField(max_length=66, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-epoch__number", "account"]
        constraints = [
            models.UniqueConstraint(fields=["epoch", "account"], name="ledger_one_payout_per_account")
        ]

    def __str__(self) -> str:
        return f"{self.account} · epoch {self.epoch.number}"


class PersonEarning(models.Model):
    """A person's share of one epoch's receipts: paid to the wallet they proved, or held until they do.

    Receipts owe people by account (``person:<id>``, `ledger.payees`), never by a wallet that may be empty
    or generated. Closing an epoch turns each person's share into one of these: paid in that epoch's
    payout tree (`paid_in` = `earned_in`, `account` = their wallet then) when they have a wallet to pay,
    else held (`paid_in` empty) and paid into the first epoch that closes after they prove one. So an
    epoch's payouts total its charges, less what it held, plus what it released (`selectors.epoch_funding`),
    and what a person earned stays theirs, and on their earnings page, whatever wallets came and went.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="earnings")
    earned_in = models.ForeignKey(Epoch, on_delete=models.CASCADE, related_name="person_earnings")
    amount = BaseUnitsField(help_text="In OPEN base units.")
    paid_in = models.ForeignKey(
        Epoch,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="released_earnings",
        help_text="The epoch whose payout tree pays it; empty while it is held.",
    )
    account = models.CharField(max_length=42, blank=True, help_text="The wallet it is paid to, once paid.")

    class Meta:
        ordering = ["earned_in__number"]
        constraints = [
            models.UniqueConstraint(fields=["user", "earned_in"], name="ledger_one_earning_per_person_epoch")
        ]
        indexes = [models.Index(fields=["user", "paid_in"])]

    def __str__(self) -> str:
        return f"{self.user_id} · epoch {self.earned_in_id}"


class WalletChallenge(models.Model):
    """A Sign-In with Ethereum (EIP-4361) message issued to a user; usable once, before it expires."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wallet_challenges"
    )
    address = models.CharField(max_length=42, help_text="The checksummed address the user claims.")
    nonce = models.CharField(max_length=64, unique=True)
    message = models.TextField(help_text="The exact text to sign; verification recovers the signer from it.")
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at"]

    def __str__(self) -> str:
        return f"{self.address} · {self.nonce}"


class ChainRegistration(models.Model):
    """A datanet version or an adapter recorded in the chain's registries (once, idempotently)."""

    class Kind(models.TextChoices):
        DATANET_VERSION = "datanet_version", "Datanet version"
        ADAPTER = "adapter", "Adapter"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    object_id = models.BigIntegerField()
    record_id = models.CharField(max_length=66, help_text="The 32-byte on-chain id, 0x-hex.")
    tx_hash = models.CharField(max_length=66, blank=True, help_text="Empty when it was already on chain.")
    registered = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_id"], name="one_registration_per_object")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id}"


class ChainWriterLease(models.Model):
    """Which process may send the operator's transactions now (`chain_writer_lease`).

    Settlement and chain registration both sign as the operator; two processes doing so at once race
    for nonces and can commit an epoch twice. The lease expires, so a process that died holding it
    blocks the others only until then.
    """

    name = models.CharField(max_length=32, primary_key=True)
    holder = models.CharField(max_length=200, blank=True)
    expires = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name}: {self.holder or 'free'}"
