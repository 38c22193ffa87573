from __future__ import annotations

from django.conf import settings
from django.db import models


class Datanet(models.Model):
    """A community dataset; every row keeps who contributed it, so payouts can reach them."""

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public"
        PERMISSIONED = "permissioned", "Permissioned"

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    license = models.CharField(max_length=64, default="CC-BY-4.0")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_datanets")
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.PUBLIC)
    chain_id = models.CharField(max_length=80, blank=True, help_text="Registry id once registered on chain.")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class Row(models.Model):
    """One normalized training example and its contributor, as it was when contributed."""

    class Format(models.TextChoices):
        MESSAGES = "messages", "Chat messages"
        PROMPT_COMPLETION = "prompt_completion", "Prompt / completion"
        TEXT = "text", "Plain text"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    datanet = models.ForeignKey(Datanet, on_delete=models.CASCADE, related_name="rows")
    format = models.CharField(max_length=24, choices=Format.choices)
    content = models.JSONField()
    content_hash = models.CharField(max_length=66, help_text="keccak256 of the canonical JSON content, 0x-hex.")
    contributor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="rows")
    wallet_address = models.CharField(max_length=42, help_text="The contributor's wallet when contributing.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    rejection_reason = models.CharField(max_length=500, blank=True)
    token_count = models.PositiveIntegerField(default=0)
    source = models.CharField(max_length=64, blank=True, help_text="seed, form, or the upload it came from.")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["datanet", "content_hash"], name="unique_row_per_datanet")]
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
    notes = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["datanet", "-number"]
        constraints = [models.UniqueConstraint(fields=["datanet", "number"], name="unique_version_number")]

    def __str__(self) -> str:
        return f"{self.datanet.slug} v{self.number}"
