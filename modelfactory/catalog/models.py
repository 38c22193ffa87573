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
