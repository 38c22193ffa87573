from __future__ import annotations

from django.db import models


class BaseModel(models.Model):
    """A causal LM the operator registered: adapters are trained on it and served on top of it."""

    name = models.SlugField(
        max_length=100, unique=True, help_text="Short name shown in the wizard and the API."
    )
    source = models.CharField(max_length=500, help_text="A local Hugging Face directory or a cached hub id.")
    architecture = models.CharField(max_length=100)
    model_type = models.CharField(max_length=50)
    parameter_count = models.PositiveBigIntegerField(null=True, blank=True)
    context_length = models.PositiveIntegerField(null=True, blank=True)
    description = models.TextField(blank=True)
    is_default = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_default", "name"]

    def __str__(self) -> str:
        return self.name


class PublishedModel(models.Model):
    """A model people can chat with and call by its API name: an adapter, a composite, or a base.

    Adapters come from fine-tuning jobs (or imports); composites are weighted merges of adapters,
    served by the engine without materialising a merged model.
    """

    class Kind(models.TextChoices):
        BASE = "base", "Base model"
        ADAPTER = "adapter", "Adapter"
        COMPOSITE = "composite", "Composite"

    class Access(models.TextChoices):
        PUBLIC = "public", "Public"
        ALLOW_LIST = "allow_list", "Allow-list"
        PAY_PER_USE = "pay_per_use", "Pay per use"

    api_name = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    base_model = models.ForeignKey(BaseModel, on_delete=models.PROTECT, related_name="published")
    owner = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="published_models"
    )
    job = models.ForeignKey(
        "finetuning.FineTuneJob", on_delete=models.SET_NULL, null=True, blank=True, related_name="published"
    )
    adapter_path = models.CharField(max_length=500, blank=True)
    recipe = models.JSONField(
        default=dict,
        blank=True,
        help_text='Composites: {"method": "linear", "adapters": [["name", 0.5], ...]}.',
    )
    parts = models.ManyToManyField(
        "self",
        through="CompositePart",
        symmetrical=False,
        related_name="composites",
        blank=True,
        help_text="Composites: the adapters merged, so that who may use them is one query away.",
    )
    origin_job = models.ForeignKey(
        "finetuning.FineTuneJob",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="copies",
        help_text="Imported adapters: the job here whose adapter this is a copy of (its lineage is ours).",
    )
    origin_match = models.CharField(
        max_length=16,
        blank=True,
        help_text='How the copy was recognised: "files" (same sha256) or "weights" (near-identical deltas).',
    )
    origin_similarity = models.FloatField(
        null=True, blank=True, help_text="Share of the original's modules whose deltas matched."
    )
    access = models.CharField(max_length=16, choices=Access.choices, default=Access.PUBLIC)
    allowed_users = models.ManyToManyField("accounts.User", blank=True, related_name="granted_models")
    is_live = models.BooleanField(
        default=True, help_text="False once unpublished: kept for lineage, not served."
    )
    version = models.PositiveIntegerField(
        default=1, help_text="Bumped on every republish: the engine's cache key."
    )
    # Fees in OPEN base units; empty means the platform defaults (MODELFACTORY_FEE_*).
    fee_rate_in = models.DecimalField(
        max_digits=40, decimal_places=0, null=True, blank=True, help_text="Per 1,000 prompt tokens."
    )
    fee_rate_out = models.DecimalField(
        max_digits=40, decimal_places=0, null=True, blank=True, help_text="Per 1,000 generated tokens."
    )
    fee_platform = models.DecimalField(
        max_digits=40, decimal_places=0, null=True, blank=True, help_text="Per request."
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.api_name

    @property
    def engine_name(self) -> str:
        """The name the engine knows the adapter by; includes the version so no stale weights are served."""
        return f"{self.api_name}@{self.version}"

    @property
    def lineage_job(self):
        """The fine-tuning job whose rows this adapter owes: its own, or the original it was copied from."""
        return self.job if self.job_id else self.origin_job

    @property
    def origin_unknown(self) -> bool:
        """An imported adapter that is no copy of anything trained here: it has no lineage to pay."""
        return self.kind == self.Kind.ADAPTER and not self.job_id and not self.origin_job_id


ORIGIN_UNKNOWN = "origin unknown: imported without lineage"


class CompositePart(models.Model):
    """One adapter in a composite, with its merge weight (the recipe's pair, as a row to query on)."""

    composite = models.ForeignKey(PublishedModel, on_delete=models.CASCADE, related_name="part_links")
    part = models.ForeignKey(PublishedModel, on_delete=models.PROTECT, related_name="composite_links")
    weight = models.FloatField()
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["composite", "position"]
        constraints = [
            models.UniqueConstraint(fields=["composite", "part"], name="catalog_one_link_per_part"),
        ]

    def __str__(self) -> str:
        return f"{self.composite_id} <- {self.part_id} x {self.weight}"


class AdapterFingerprint(models.Model):
    """What an adapter's weights look like, small enough to compare every import against.

    Kept for every adapter trained here (its job) and every import (its published model): the sha256 of
    the weights file, the (out, in) shape of each LoRA module and a few random projections of each
    module's delta B·A (`catalog.adapter_fingerprint`), so that a copy is recognised whether its files are
    identical or its weights were lightly perturbed or rescaled.
    """

    job = models.OneToOneField(
        "finetuning.FineTuneJob", on_delete=models.CASCADE, null=True, blank=True, related_name="fingerprint"
    )
    published = models.OneToOneField(
        PublishedModel, on_delete=models.CASCADE, null=True, blank=True, related_name="fingerprint"
    )
    base_model = models.ForeignKey(BaseModel, on_delete=models.CASCADE, related_name="adapter_fingerprints")
    weights_sha256 = models.CharField(max_length=64, db_index=True)
    scheme = models.PositiveSmallIntegerField(help_text="The projection scheme: fingerprints of one compare.")
    modules = models.JSONField(help_text="[[module path, out, in], ...] in the order of `sketch`.")
    sketch = models.BinaryField(help_text="float32 projections, one k x k block per module.")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(job__isnull=False) | models.Q(published__isnull=False),
                name="catalog_fingerprint_of_something",
            )
        ]

    def __str__(self) -> str:
        return f"fingerprint {self.weights_sha256[:12]}"


class AdapterImport(models.Model):
    """One uploaded adapter zip on its way to becoming a published model, checked and unpacked on a worker.

    The web process only stores the zip and reads its directory; everything that decompresses or parses
    the uploader's bytes runs on a worker (`catalog.tasks.import_adapter`), while the page polls this row.
    The publishing choices are kept here so that the worker publishes exactly what the form asked.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting for a worker"
        IMPORTING = "importing", "Importing"
        IMPORTED = "imported", "Imported"
        FAILED = "failed", "Failed"

    ACTIVE = (Status.QUEUED, Status.IMPORTING)

    owner = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="adapter_imports")
    base_model = models.ForeignKey(BaseModel, on_delete=models.CASCADE, related_name="adapter_imports")
    api_name = models.SlugField(max_length=100)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    access = models.CharField(max_length=16, choices=PublishedModel.Access.choices)
    fee_rate_in = models.DecimalField(max_digits=40, decimal_places=0, null=True, blank=True)
    fee_rate_out = models.DecimalField(max_digits=40, decimal_places=0, null=True, blank=True)
    fee_platform = models.DecimalField(max_digits=40, decimal_places=0, null=True, blank=True)
    filename = models.CharField(max_length=255)
    stored_path = models.CharField(
        max_length=500, help_text="The uploaded zip; deleted once the import ends."
    )
    size_bytes = models.PositiveBigIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Imports started; past MODELFACTORY_TASK_MAX_ATTEMPTS the import fails."
    )
    error = models.TextField(blank=True)
    published = models.OneToOneField(
        PublishedModel, on_delete=models.SET_NULL, null=True, blank=True, related_name="adapter_import"
    )
    created = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(
        null=True, blank=True, help_text="When its task message was last sent (a lost one is sent again)."
    )
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"import {self.api_name} ({self.status})"
