"""What attribution keeps: the indexes built at publication, each answer's query, and its evidence.

Indexes are files under `VAR_DIR/attribution/` (they are numeric arrays, not rows); the database
holds where they are, their state and their size. Evidence rows (`RowAttribution`) and per-datanet
credits (`DatanetCredit`) are kept apart from the receipt's JSON so that a datanet page can count
and sum them with one indexed query.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class BuildStatus(models.TextChoices):
    PENDING = "pending", "Queued"
    BUILDING = "building", "Building"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class IndexBuild(models.Model):
    """What every index build records: its state, where its files are, their size, and timings."""

    status = models.CharField(max_length=16, choices=BuildStatus.choices, default=BuildStatus.PENDING)
    path = models.CharField(max_length=500, blank=True)
    row_count = models.PositiveIntegerField(default=0)
    bytes_total = models.PositiveBigIntegerField(default=0)
    build_seconds = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True, help_text="When the current build was claimed.")
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def bytes_per_row(self) -> float:
        return self.bytes_total / self.row_count if self.row_count else 0.0


class AdapterSketch(IndexBuild):
    """Projected LoRA gradients of every training row of one published adapter version."""

    published_model = models.ForeignKey(
        "catalog.PublishedModel", on_delete=models.CASCADE, related_name="attribution_sketches"
    )
    model_version = models.PositiveIntegerField(help_text="The published version the sketch belongs to.")
    job = models.ForeignKey(
        "finetuning.FineTuneJob",
        on_delete=models.CASCADE,
        related_name="attribution_sketches",
        help_text="The job that trained this version: its rows and adapter files, even after a republish.",
    )
    progress = models.FloatField(default=0.0, help_text="0..1 while building.")
    sketch_dim = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["published_model", "model_version"], name="one_sketch_per_adapter_version"
            )
        ]

    def __str__(self) -> str:
        return f"sketch {self.published_model_id}@{self.model_version} ({self.status})"

    @property
    def adapter_key(self) -> str:
        """The name the attribution worker loads this version's adapter under (as the engine names it)."""
        return f"{self.published_model.api_name}@{self.model_version}"


class SpanIndex(IndexBuild):
    """The suffix-array index over a datanet version's answers, for verbatim span matching."""

    version = models.OneToOneField("datanets.Version", on_delete=models.CASCADE, related_name="span_index")
    token_count = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"span index of version {self.version_id} ({self.status})"


class AttributionQuery(models.Model):
    """What the attribution job needs about one answer, and how far it got.

    Written in the answer's own transaction (so an answer never lacks it), consumed off the request
    path. `attempts` and `started` let the sweep tell a crashed run from a running one.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        COMPLETE = "complete", "Complete"
        FAILED = "failed", "Failed"

    receipt = models.OneToOneField(
        "ledger.InferenceReceipt", on_delete=models.CASCADE, related_name="attribution_query"
    )
    prompt = models.TextField(help_text="The prompt exactly as the model saw it (chat template applied).")
    answers = models.JSONField(
        default=list, help_text='[{"text": ..., "token_ids": [...]}, ...], one per choice.'
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True, help_text="Compute time of the last run.")
    error = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(
        default=timezone.now, help_text="When its task was last sent (the sweep re-sends lost ones)."
    )

    def __str__(self) -> str:
        return f"attribution of {self.receipt_id} ({self.status})"


class RowAttribution(models.Model):
    """One training row that an answer's attribution named, by which method and how strongly."""

    class Method(models.TextChoices):
        GRADIENT = "gradient", "Gradient influence"
        SPAN = "span", "Span match"

    receipt = models.ForeignKey(
        "ledger.InferenceReceipt", on_delete=models.CASCADE, related_name="row_attributions"
    )
    row = models.ForeignKey("datanets.Row", on_delete=models.CASCADE, related_name="attributions")
    datanet = models.ForeignKey("datanets.Datanet", on_delete=models.CASCADE, related_name="row_attributions")
    method = models.CharField(max_length=16, choices=Method.choices)
    score = models.FloatField(help_text="The method's own score (influence, or span length in words).")
    weight = models.FloatField(help_text="The row's share of the answer's evidence, 0..1.")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["datanet", "created"]), models.Index(fields=["row"])]
        constraints = [
            models.UniqueConstraint(
                fields=["receipt", "row", "method"], name="one_attribution_per_row_method"
            )
        ]

    def __str__(self) -> str:
        return f"row {self.row_id} in {self.receipt_id} ({self.method})"


class DatanetCredit(models.Model):
    """A datanet's share of one answer and of the contributors' part of its fee (base units)."""

    receipt = models.ForeignKey(
        "ledger.InferenceReceipt", on_delete=models.CASCADE, related_name="datanet_credits"
    )
    datanet = models.ForeignKey("datanets.Datanet", on_delete=models.CASCADE, related_name="credits")
    weight = models.FloatField()
    amount = models.DecimalField(max_digits=40, decimal_places=0)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["datanet", "created"])]
        constraints = [
            models.UniqueConstraint(fields=["receipt", "datanet"], name="one_credit_per_receipt_datanet")
        ]

    def __str__(self) -> str:
        return f"{self.datanet_id} in {self.receipt_id}"
