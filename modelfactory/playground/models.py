"""Playground conversations, kept per user so a chat and its answers' receipts outlive the page."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Conversation(models.Model):
    """One chat thread with one model, or two side by side, under one system prompt and one set of settings.

    The model API names are stored as names, not foreign keys: a model can be unpublished later and the
    conversation must still read back; access is checked again on every answer.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations")
    title = models.CharField(max_length=200, blank=True)
    model_names = models.JSONField(default=list, help_text="API names of the model(s) answering, 1 or 2.")
    system_prompt = models.TextField(blank=True)
    settings = models.JSONField(
        default=dict, help_text='{"temperature": ..., "top_p": ..., "max_tokens": ...}'
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-updated", "-id"]

    def __str__(self) -> str:
        return self.title or f"Conversation {self.pk}"

    @property
    def side_by_side(self) -> bool:
        return len(self.model_names) > 1


class Message(models.Model):
    """A user's prompt, or one model's answer to it (two answers per prompt in side-by-side mode).

    An answer is created empty (`pending`) when the prompt is sent and filled by the token stream;
    its receipt is recorded once it finishes, stopped answers included, since their tokens were served.
    """

    class Role(models.TextChoices):
        USER = "user", "User"
        ASSISTANT = "assistant", "Assistant"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to stream"
        STREAMING = "streaming", "Streaming"
        DONE = "done", "Done"
        STOPPED = "stopped", "Stopped"
        FAILED = "failed", "Failed"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=16, choices=Role.choices)
    content = models.TextField(blank=True)
    model_name = models.CharField(max_length=100, blank=True, help_text="The answering model's API name.")
    reply_to = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="answers"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DONE)
    stop_requested = models.BooleanField(
        default=False, help_text="Stop was pressed: the replica streaming it cancels it (`stop_signal`)."
    )
    error = models.TextField(blank=True)
    receipt = models.ForeignKey(
        "ledger.InferenceReceipt", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.role}: {self.content[:40]}"

    @property
    def finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.STOPPED, self.Status.FAILED}
