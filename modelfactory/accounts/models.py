from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models

wallet_address_validator = RegexValidator(
    regex=r"^0x[0-9a-fA-F]{40}$", message="A wallet address is 0x followed by 40 hexadecimal digits."
)


class User(AbstractUser):
    """A person on the platform; contributors and developers are paid to `wallet_address`."""

    display_name = models.CharField(max_length=120, blank=True)
    wallet_address = models.CharField(max_length=42, blank=True, validators=[wallet_address_validator])
    wallet_verified = models.BooleanField(
        default=False, help_text="True when the user proved the address by signing a message."
    )

    def __str__(self) -> str:
        return self.display_name or self.username


class ThrottleEvent(models.Model):
    """One counted attempt of a throttled action: the rows inside a throttle's window are its count.

    One table for every throttle (sign-ups by address, failed logins, a person's requests), told apart by
    `scope`; kept in the database, like the API's request log, so every web process sees the same count.
    """

    scope = models.CharField(max_length=32)
    subject = models.CharField(max_length=160, help_text="Who is counted: an address, a username, a user id.")
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["scope", "subject", "at"]), models.Index(fields=["scope", "at"])]

    def __str__(self) -> str:
        return f"{self.scope}:{self.subject} at {self.at:%H:%M:%S}"


class AnswerInFlight(models.Model):
    """An answer a person's request is generating now (API or playground): their concurrent-answer slot.

    Released when the answer ends; a process that died mid-answer leaves its row, which stops counting at
    `expires`, so a crash costs the person one slot for a while, never for good.
    """

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="answers_in_flight")
    started = models.DateTimeField()
    expires = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"answer of {self.user_id} since {self.started:%H:%M:%S}"
