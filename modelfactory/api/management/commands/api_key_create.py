"""Create an API key from the shell, e.g. one with a high rate limit for the load test."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from modelfactory.api.models import DEFAULT_RATE_LIMIT_PER_MINUTE
from modelfactory.api.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a user and print it (shown this once; only its hash is stored)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("name")
        parser.add_argument(
            "--rate-limit", type=int, default=DEFAULT_RATE_LIMIT_PER_MINUTE, help="requests/min"
        )

    def handle(self, *args, username: str, name: str, rate_limit: int, **options) -> None:
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(
                f"no user {username!r}; create one first (manage.py createsuperuser)"
            ) from None
        _, secret = api_key_create(user=user, name=name, rate_limit_per_minute=rate_limit)
        self.stdout.write(secret)
