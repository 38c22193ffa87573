"""`manage.py deploy_contracts`: deploy the contracts once (or find them) and, in development, fund the demo.

Idempotent, so every start may call it. `--wait` lets it start together with the node; `--keep-running`
lets it sit in the Procfile next to `chain` (honcho stops the whole stack when any process exits).

This is where the demo's chain seeding lives, since `seed_demo` runs before the node is up: the demo user
gets a prepaid balance in the vault (`--demo-deposit`, once per deployment), so `make run` chats at once
and the demo user pays for the answers. The operator needs no OPEN: epochs are paid from the vault.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from eth_account import Account

from contracts.chain_client import ChainClient
from contracts.errors import ChainError
from contracts.records import ChainStatus
from modelfactory.ledger.chain import operator_key, voucher_key

OPEN = 10**18


DEMO_USER_OPEN = 100
# Enough for tens of thousands of demo answers at the default rates.
DEMO_DEPOSIT_OPEN = 1_000


class Command(BaseCommand):
    help = "Deploy the contracts once to CHAIN_RPC_URL (reusing a live deployment) and mint demo OPEN."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--mint", type=int, default=0, help="Top the operator up to this many OPEN (development)."
        )
        parser.add_argument(
            "--demo-deposit",
            type=int,
            default=DEMO_DEPOSIT_OPEN,
            help="Development only: OPEN the demo user prepays into the vault, once per deployment.",
        )
        parser.add_argument("--wait", type=float, default=30.0, help="Seconds to wait for the node.")
        parser.add_argument(
            "--keep-running", action="store_true", help="Stay up until SIGTERM, for a Procfile entry."
        )
        parser.add_argument(
            "--replace-outdated", action="store_true", help="Development only: redeploy changed contracts."
        )
        parser.add_argument(
            "--demo-user-open",
            type=int,
            default=DEMO_USER_OPEN,
            help="Development only: OPEN minted to each user whose wallet is empty.",
        )

    def _fund_demo_users(self, client: ChainClient, amount: int) -> None:
        """Development: every user with an empty wallet gets some OPEN, as the demo promises."""
        from modelfactory.accounts.models import User

        for wallet in User.objects.exclude(wallet_address="").values_list("wallet_address", flat=True):
            if amount and client.balance_of(wallet) == 0:
                client.mint(to=wallet, amount=amount)

    def _fund_demo_balance(self, client: ChainClient, amount: int) -> None:
        """Development: the demo user's prepaid balance, deposited into the vault once per deployment."""
        from datanets.demo_seeding import DEMO_USERNAME
        from modelfactory.accounts.models import User
        from modelfactory.vault.demo_funding import demo_funding_ensure

        demo = User.objects.filter(username=DEMO_USERNAME).first()
        if demo is None or not amount:
            return
        deposit = demo_funding_ensure(user=demo, amount=amount, client=client)
        if deposit is not None:
            self.stdout.write(f"demo user prepaid {amount // OPEN} OPEN into the vault ({deposit.tx_hash})")

    def handle(
        self, *args, mint: int, wait: float, replace_outdated: bool, keep_running: bool, **options
    ) -> None:
        client = ChainClient(settings.CHAIN_RPC_URL, operator_key=operator_key())
        deadline = time.monotonic() + wait
        status: ChainStatus | None = None
        while status is None:
            try:
                status = client.status()
            except ChainError as error:
                if time.monotonic() > deadline:
                    raise CommandError(str(error)) from error
                time.sleep(0.5)
        try:
            deployment = client.ensure_deployed(Path(settings.VAR_DIR), replace_outdated=replace_outdated)
            signer = Account.from_key(voucher_key()).address
            if client.voucher_signer_grant(signer):
                self.stdout.write(
                    f"withdrawal vouchers are signed by {signer} (granted the vault's SIGNER_ROLE)"
                )
            production = getattr(settings, "ENVIRONMENT", "development") == "production"
            if not production and not client.has_role("OpenToken", "MINTER_ROLE", client.operator_address):
                # `hand_over_chain_roles` gave minting to a cold key: the demo goes without its OPEN.
                self.stdout.write("the operator no longer holds MINTER_ROLE: no demo OPEN minted")
            elif not production:
                wanted = mint * OPEN
                balance = client.balance_of(client.operator_address)
                if balance < wanted:
                    client.mint(to=client.operator_address, amount=wanted - balance)
                self._fund_demo_users(client, options.get("demo_user_open", DEMO_USER_OPEN) * OPEN)
                self._fund_demo_balance(client, options.get("demo_deposit", DEMO_DEPOSIT_OPEN) * OPEN)
        except ChainError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"contracts on chain {status.chain_id} at {settings.CHAIN_RPC_URL}: "
            + ", ".join(f"{name} {address}" for name, address in deployment.addresses.items())
        )
        if keep_running:
            signal.signal(signal.SIGTERM, _exit_cleanly)
            while True:
                time.sleep(3600)


def _exit_cleanly(signum: int, frame: object) -> None:
    """SIGTERM from honcho is a normal stop, not a failure of this entry."""
    raise SystemExit(0)
