"""`manage.py hand_over_chain_roles --admin 0x… [--minter 0x…] [--yes]`: give the contracts' admin and
minter roles to a cold key or multisig, and the vault's signer role to the voucher key, then have the
operator renounce them (`contracts.role_handover`).

Without `--yes` it prints what it would grant and renounce and sends nothing, so the plan can be checked
(and the admin address read twice) before the operator gives anything up. Safe to run again: a run that
stopped part way is finished, a finished one sends nothing. Afterwards it prints who holds which role.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from eth_account import Account
from web3 import Web3

from contracts.deployment import find_deployment
from contracts.errors import ChainError
from contracts.role_handover import format_role_holdings, hand_over_plan, hand_over_roles, role_holdings
from contracts.transactions import TransactionSender
from modelfactory.ledger.chain import operator_key, voucher_key


class Command(BaseCommand):
    help = (
        "Hand DEFAULT_ADMIN_ROLE and MINTER_ROLE to a cold admin and SIGNER_ROLE to the voucher key, then "
        "renounce them from the operator (dry run unless --yes)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--admin", required=True, help="The cold key or multisig that administers.")
        parser.add_argument("--minter", default=None, help="Who may mint OPEN (default: the admin).")
        parser.add_argument(
            "--yes", action="store_true", help="Send the transactions; without it only the plan is printed."
        )

    def handle(self, *args, admin: str, minter: str | None, yes: bool, **options) -> None:
        web3 = Web3(Web3.HTTPProvider(settings.CHAIN_RPC_URL, request_kwargs={"timeout": 10}))
        operator = Account.from_key(operator_key())
        signer = Account.from_key(voucher_key()).address
        try:
            deployment = find_deployment(web3, Path(settings.VAR_DIR), rpc_url=settings.CHAIN_RPC_URL)
            if deployment is None:
                raise CommandError(
                    f"no live deployment for {settings.CHAIN_RPC_URL} under {settings.VAR_DIR}: "
                    "run `manage.py deploy_contracts` first"
                )
            plan = hand_over_plan(
                web3, deployment, operator=operator.address, admin=admin, minter=minter, voucher_signer=signer
            )
            if not yes:
                self.stdout.write(
                    "Nothing to do: the roles are handed over already."
                    if plan.done
                    else "Would send (nothing is sent without --yes):"
                )
                for step in plan.steps:
                    self.stdout.write(f"  {step}")
            else:
                sender = TransactionSender(web3, operator, rpc_url=settings.CHAIN_RPC_URL)
                sent = hand_over_roles(sender, deployment, admin=admin, minter=minter, voucher_signer=signer)
                self.stdout.write("Sent:" if sent else "Nothing to do: the roles are handed over already.")
                for step in sent:
                    self.stdout.write(f"  {step}")
            accounts = {
                "operator": operator.address,
                "admin": admin,
                "minter": minter or admin,
                "voucher signer": signer,
                "settlement contract": deployment.address_of("AttributionSettlement"),
            }
            self.stdout.write("\nWho holds which role now:")
            self.stdout.write(format_role_holdings(role_holdings(web3, deployment, accounts)))
        except ChainError as error:
            raise CommandError(str(error)) from error
