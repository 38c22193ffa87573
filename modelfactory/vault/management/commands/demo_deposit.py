"""`manage.py demo_deposit USER AMOUNT`: prepaid OPEN for a user on the local chain (development only)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contracts.errors import ChainError
from modelfactory.accounts.models import User
from modelfactory.ledger.open_amounts import NotAnOpenAmount, base_units, open_display
from modelfactory.vault.demo_funding import DemoFundingRefused, demo_deposit


class Command(BaseCommand):
    help = (
        "Mint AMOUNT OPEN on the local chain, deposit it into USER's vault account and wait until the "
        "watcher credits it (development only)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("amount", help="OPEN, decimals allowed, e.g. 1000 or 2.5")
        parser.add_argument("--wait", type=float, default=30.0, help="Seconds to wait for the credit.")

    def handle(self, *args, username: str, amount: str, wait: float, **options) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        try:
            units = base_units(amount)
        except NotAnOpenAmount as error:
            raise CommandError(str(error)) from error
        if units <= 0:
            raise CommandError("the amount must be above 0")
        try:
            deposit = demo_deposit(user=user, amount=units, wait_s=wait)
        except (ChainError, DemoFundingRefused) as error:
            raise CommandError(str(error)) from error
        state = (
            "credited" if deposit.credited else "sent, waiting for its confirmations (the watcher credits it)"
        )
        self.stdout.write(
            f"{open_display(units)} OPEN deposited for {username} from {deposit.sender} "
            f"in {deposit.tx_hash}: {state}"
        )
