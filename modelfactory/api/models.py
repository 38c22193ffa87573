"""API keys and the request log that rate-limits them."""

from __future__ import annotations

from django.conf import settings
from django.db import models

# Generous enough for a script or a notebook, low enough that one leaked key cannot starve the engine.
DEFAULT_RATE_LIMIT_PER_MINUTE = 120


class ApiKey(models.Model):
    """A secret that lets a program call /v1/ as its user.

    Only the SHA-256 of the secret is stored (a database dump leaks no usable key); the secret itself is
    shown once, at creation. `prefix` is what people recognise a key by in the list.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="The first characters of the key, shown in lists.")
    secret_hash = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the key, hex.")
    rate_limit_per_minute = models.PositiveIntegerField(default=DEFAULT_RATE_LIMIT_PER_MINUTE)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)
    revoked = models.DateTimeField(null=True, blank=True)
    requests = models.PositiveBigIntegerField(default=0, help_text="Completions served with this key.")
    tokens_in = models.PositiveBigIntegerField(default=0)
    tokens_out = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["revoked", "-created"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked is None


class ApiRequest(models.Model):
    """One admitted request of a key: the rows of the last minute form its sliding rate-limit window.

    Kept in the database (not a per-process cache) so that every web process sees the same count.
    """

    key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="recent_requests")
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["key", "at"])]

    def __str__(self) -> str:
        return f"{self.key_id} at {self.at:%H:%M:%S}"


class ApiFile(models.Model):
    """A file uploaded through POST /v1/files for fine-tuning: one version of a private datanet of its owner.

    Its rows are validated and stored as any upload's (`datanets.upload_services`), in a permissioned
    datanet that only its owner may use; this row is what the API calls the file: its id (`file-...`),
    name, size and purpose. Deleting the file deletes that datanet too, unless a fine-tuning job trained on
    it: then the datanet stays (archived), because a job keeps its lineage.
    """

    public_id = models.CharField(max_length=40, unique=True, help_text="The API's id for it: file-<hex>.")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_files")
    version = models.ForeignKey(
        "datanets.Version", on_delete=models.PROTECT, related_name="api_files", help_text="Its rows."
    )
    filename = models.CharField(max_length=255)
    bytes = models.PositiveBigIntegerField(help_text="Size of the uploaded file.")
    purpose = models.CharField(max_length=32)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-pk"]

    def __str__(self) -> str:
        return f"{self.public_id} ({self.filename})"
