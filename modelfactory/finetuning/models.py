from __future__ import annotations

from django.conf import settings
from django.db import models

from datanets.models import Version
from modelfactory.catalog.models import BaseModel


class FineTuneJob(models.Model):
    """One fine-tuning run from the wizard: what to train, where it stands, what it produced.

    A job is claimed by one worker at a time (`worker`, `heartbeat_at`); a worker that stops beating
    loses the job to the next one, which resumes from the last checkpoint in `output_dir`.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        CANCELLING = "cancelling", "Cancelling"
        CANCELLED = "cancelled", "Cancelled"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    ACTIVE = (Status.QUEUED, Status.RUNNING, Status.CANCELLING)

    class Queue(models.TextChoices):
        CPU = "cpu", "CPU"
        GPU = "gpu", "GPU"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="finetune_jobs"
    )
    name = models.CharField(max_length=120)
    base_model = models.ForeignKey(BaseModel, on_delete=models.PROTECT, related_name="finetune_jobs")
    datanet_versions = models.ManyToManyField(Version, related_name="finetune_jobs")
    preset = models.CharField(max_length=20, blank=True)
    spec = models.JSONField(help_text="The TrainingSpec, as JSON.")
    queue = models.CharField(max_length=8, choices=Queue.choices, default=Queue.CPU)
    gpus = models.PositiveSmallIntegerField(default=0)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    step = models.PositiveIntegerField(default=0)
    max_steps = models.PositiveIntegerField(default=0)
    epoch = models.FloatField(default=0.0)
    eta_seconds = models.FloatField(null=True, blank=True)
    tokens_per_second = models.FloatField(null=True, blank=True)
    last_metrics = models.JSONField(default=dict, blank=True)

    worker = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    log_tail = models.TextField(blank=True)

    output_dir = models.CharField(max_length=500, blank=True)
    manifest = models.JSONField(default=dict, blank=True)
    evaluation = models.JSONField(default=dict, blank=True)
    data_report = models.JSONField(default=dict, blank=True)
    merged_status = models.CharField(
        max_length=16, blank=True, help_text="'', exporting, ready or failed: the merged full-model export."
    )
    merged_attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Merges started for this export; past MODELFACTORY_TASK_MAX_ATTEMPTS it fails."
    )
    merged_error = models.TextField(blank=True, help_text="Why the last merged export failed.")
    publish_as = models.CharField(
        max_length=100,
        blank=True,
        help_text="API name the adapter is published under as soon as the job succeeds (demo fine-tunes); "
        "blank: its owner publishes it by hand.",
    )
    publish_error = models.TextField(blank=True, help_text="Why publishing on success failed, if it did.")
    via_api = models.BooleanField(
        default=False,
        help_text="Created through POST /v1/fine_tuning/jobs: published on success as `publish_as`, private "
        "to its owner.",
    )
    api_training_file = models.CharField(
        max_length=40,
        blank=True,
        help_text="The API file (file-...) it trains on; kept after the file is deleted.",
    )

    created = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(
        null=True, blank=True, help_text="When its task message was last sent (a lost one is sent again)."
    )
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["status", "queue", "created"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"

    @property
    def progress(self) -> float:
        return min(1.0, self.step / self.max_steps) if self.max_steps else 0.0


class JobMetric(models.Model):
    """One optimizer step's numbers; (job, step) is unique so a resumed run never writes a step twice."""

    job = models.ForeignKey(FineTuneJob, on_delete=models.CASCADE, related_name="metrics")
    step = models.PositiveIntegerField()
    epoch = models.FloatField(default=0.0)
    loss = models.FloatField(null=True, blank=True)
    eval_loss = models.FloatField(null=True, blank=True)
    learning_rate = models.FloatField(null=True, blank=True)
    grad_norm = models.FloatField(null=True, blank=True)
    tokens_per_second = models.FloatField(null=True, blank=True)
    gpu_memory_mb = models.FloatField(null=True, blank=True)
    recorded = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["job", "step"]
        constraints = [models.UniqueConstraint(fields=["job", "step"], name="one_metric_row_per_step")]

    def __str__(self) -> str:
        return f"job {self.job_id} step {self.step}"
