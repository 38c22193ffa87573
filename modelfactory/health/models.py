from __future__ import annotations

from django.db import models


class Heartbeat(models.Model):
    """The last sign of life of a process that the web process cannot see directly.

    Workers write one per host name from a background thread; the beat-scheduled pipeline task
    writes one under the name "pipeline" when it runs on a worker, which proves broker → worker.
    """

    class Kind(models.TextChoices):
        WORKER = "worker"
        PIPELINE = "pipeline"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=200)
    last_seen = models.DateTimeField()
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "name"], name="unique_heartbeat_per_process")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}@{self.last_seen:%H:%M:%S}"
