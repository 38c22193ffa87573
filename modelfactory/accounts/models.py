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
