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


class SignUpAttempt(models.Model):
    """One sign-up form sent from an address: the rows of the last hour form its throttle window.

    Kept in the database, like the API's request log, so that every web process sees the same count.
    """

    ip = models.CharField(max_length=64, help_text="The client's address as the web server saw it.")
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["ip", "at"]), models.Index(fields=["at"])]

    def __str__(self) -> str:
        return f"{self.ip} at {self.at:%H:%M:%S}"
