from __future__ import annotations

from django.conf import settings
from django.db import models

from datanets import row_formats

RESERVED_SLUGS = frozenset({"new", "contributions"})
"""Paths under /datanets/ that are pages, so no datanet may take them as its slug."""


class RowFormat(models.TextChoices):
    MESSAGES = row_formats.MESSAGES, row_formats.LABELS[row_formats.MESSAGES]
    PROMPT_COMPLETION = row_formats.PROMPT_COMPLETION, row_formats.LABELS[row_formats.PROMPT_COMPLETION]
    TEXT = row_formats.TEXT, row_formats.LABELS[row_formats.TEXT]


class Datanet(models.Model):
    """A community dataset; every row keeps who contributed it, so payouts can reach them.

    The slug never changes once created: receipts and on-chain registrations name datanets by it.
    """

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public"
        PERMISSIONED = "permissioned", "Permissioned"

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    license = models.CharField(max_length=64, default="CC-BY-4.0")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_datanets"
    )
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.PUBLIC)
    expected_format = models.CharField(
        max_length=24,
        choices=RowFormat.choices,
        blank=True,
        help_text="The row format contributions must have; blank takes any (datanets made before formats).",
    )
    archived = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the owner archived it: hidden from browsing, no new rows; its versions stay usable.",
    )
    reviewers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="reviewing_datanets",
        help_text="Besides the owner, who may approve and reject pending rows.",
    )
    auto_approved_contributors = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="auto_approved_datanets",
        help_text="Contributors whose rows are approved on arrival, like the owner's.",
    )
    chain_id = models.CharField(max_length=80, blank=True, help_text="Registry id once registered on chain.")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class Upload(models.Model):
    """One file a user uploaded into a datanet, and what became of it.

    Rows of an upload are written in one transaction when it is imported, so a datanet never
    holds half an upload; the counts and the rejections file tell the user what happened.
    """

    class Status(models.TextChoices):
        INSPECTED = "inspected", "Waiting for your choice"
        IMPORTING = "importing", "Importing"
        IMPORTED = "imported", "Imported"
        DISCARDED = "discarded", "Nothing imported"
        FAILED = "failed", "Failed"

    class Mode(models.TextChoices):
        ALL_OR_NOTHING = "all_or_nothing", "Import nothing if any row is rejected"
        VALID_ROWS = "valid_rows", "Import the valid rows"

    datanet = models.ForeignKey(Datanet, on_delete=models.CASCADE, related_name="uploads")
    uploader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="uploads")
    filename = models.CharField(max_length=255)
    stored_path = models.CharField(max_length=500)
    size_bytes = models.PositiveBigIntegerField()
    detected_format = models.CharField(max_length=32, blank=True)
    mapping = models.JSONField(default=dict, blank=True)
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.ALL_OR_NOTHING)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.INSPECTED)
    progress = models.FloatField(default=0.0, help_text="0..1 while importing.")
    accepted_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    approved_on_arrival = models.BooleanField(
        default=False, help_text="Its rows were approved at import (owner or auto-approved contributor)."
    )
    rejections_path = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Imports started; past MODELFACTORY_TASK_MAX_ATTEMPTS the upload fails."
    )
    created = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.filename} → {self.datanet.slug}"


class AccessRequest(models.Model):
    """A user asking the owner of a permissioned datanet to browse, export and train on it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    datanet = models.ForeignKey(Datanet, on_delete=models.CASCADE, related_name="access_requests")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_requests"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    message = models.CharField(max_length=500, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    decided = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(fields=["datanet", "user"], name="one_access_request_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.datanet.slug} ({self.status})"


class Row(models.Model):
    """One normalized training example and its contributor, as it was when contributed."""

    Format = RowFormat

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    datanet = models.ForeignKey(Datanet, on_delete=models.CASCADE, related_name="rows")
    format = models.CharField(max_length=24, choices=Format.choices)
    content = models.JSONField()
    content_hash = models.CharField(
        max_length=66, help_text="keccak256 of the canonical JSON content, 0x-hex."
    )
    search_text = models.TextField(blank=True, help_text="The row's text without markup, for search.")
    contributor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="rows")
    wallet_address = models.CharField(max_length=42, help_text="The contributor's wallet when contributing.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    rejection_reason = models.CharField(max_length=500, blank=True)
    token_count = models.PositiveIntegerField(default=0)
    source = models.CharField(max_length=64, blank=True, help_text="seed, form, or upload.")
    upload = models.ForeignKey(Upload, on_delete=models.SET_NULL, null=True, blank=True, related_name="rows")
    reviewed = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["datanet", "content_hash"], name="unique_row_per_datanet")
        ]
        indexes = [models.Index(fields=["datanet", "status"])]

    def __str__(self) -> str:
        return f"{self.datanet.slug}#{self.pk}"


class Version(models.Model):
    """An immutable snapshot of a datanet's approved rows; its Merkle root goes on chain."""

    datanet = models.ForeignKey(Datanet, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    rows = models.ManyToManyField(Row, related_name="versions")
    row_count = models.PositiveIntegerField()
    token_count = models.PositiveBigIntegerField()
    merkle_root = models.CharField(max_length=66)
    added_count = models.PositiveIntegerField(default=0, help_text="Rows not in the previous version.")
    removed_count = models.PositiveIntegerField(default=0, help_text="Rows of the previous version left out.")
    notes = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["datanet", "-number"]
        constraints = [models.UniqueConstraint(fields=["datanet", "number"], name="unique_version_number")]

    def __str__(self) -> str:
        return f"{self.datanet.slug} v{self.number}"
