from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class InferenceReceipt(models.Model):
    """What produced one answer and who is owed for it; written in the request's own transaction.

    `attribution` holds contributor → weight and datanet → weight (each summing to 1), the methods
    that ran and, once computed off the request path, the most influential training rows.
    """

    class AttributionStatus(models.TextChoices):
        LINEAGE = "lineage", "Lineage only"
        PENDING = "pending", "Influence pending"
        COMPLETE = "complete", "Complete"

    receipt_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    api_key_id = models.BigIntegerField(null=True, blank=True, help_text="The API key used, if any.")
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
    fee = models.DecimalField(max_digits=40, decimal_places=0, help_text="In OPEN base units.")
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
