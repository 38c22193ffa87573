"""Reads of the vault for the wallet page: the vault's figure for the user's account, deposits still
waiting for their confirmations, withdrawal vouchers, and (for staff) deposits into nobody's account.

The page shows the chain's figure beside the ledger's so a user can check them: the vault holds the
user's balance, plus what was charged for answers in epochs not committed yet, plus vouchers issued and
not yet withdrawn, plus deposits still waiting for their confirmations; the ledger shows what may be spent
or withdrawn now. With the node down the ledger's figures are still shown, and why the chain's are not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from hexbytes import HexBytes

from contracts.chain_client import ChainClient
from contracts.errors import ChainError
from contracts.records import ChainEvent
from modelfactory.billing.selectors import BalanceView, balance_of
from modelfactory.ledger.chain import reader_client
from modelfactory.vault.deposit_services import deposit_confirmations
from modelfactory.vault.errors import WithdrawalNotFound
from modelfactory.vault.models import ChainCursor, UnassignedDeposit, VaultAccount, WithdrawalVoucher

LIST_LIMIT = 50


@dataclass
class WalletOverview:
    """The vault's side of the wallet page (the balance and its journal are billing's `balance_panel`)."""

    balance: BalanceView
    account: VaultAccount | None
    confirmations: int
    vouchers: list[WithdrawalVoucher] = field(default_factory=list)
    unassigned: list[UnassignedDeposit] = field(default_factory=list)  # staff only
    on_chain: int | None = None  # the vault's balance of the user's account, when the chain answered
    waiting_deposits: list[ChainEvent] = field(default_factory=list)  # seen on chain, not yet credited
    vault_address: str = ""
    token_address: str = ""
    chain_id: int | None = None
    chain_error: str = ""


def wallet_overview(*, user, client: ChainClient | None = None, read_chain: bool = True) -> WalletOverview:
    """Everything the wallet page shows about the user's prepaid OPEN."""
    account = VaultAccount.objects.filter(user_id=user.pk).first()
    overview = WalletOverview(
        balance=balance_of(user),
        account=account,
        confirmations=deposit_confirmations(),
        vouchers=list(WithdrawalVoucher.objects.filter(user_id=user.pk)[:LIST_LIMIT]),
        unassigned=list(UnassignedDeposit.objects.all()[:LIST_LIMIT]) if user.is_staff else [],
    )
    if not read_chain:
        return overview
    try:
        client = client or reader_client()
        overview.vault_address = client.contract("PaymentVault").address
        overview.token_address = client.contract("OpenToken").address
        overview.chain_id = client.deployment.chain_id
        if account is not None:
            account_id = bytes(HexBytes(account.account_id))
            overview.on_chain = client.vault_balance(account_id)
            overview.waiting_deposits = _waiting_deposits(client, account_id)
    except ChainError as error:
        overview.chain_error = f"{type(error).__name__}: {error}"
    return overview


def _waiting_deposits(client: ChainClient, account_id: bytes) -> list[ChainEvent]:
    """Deposits into the account that the watcher has not read yet (too few confirmations, or it is
    behind): so a user who just deposited sees it coming."""
    cursor = ChainCursor.objects.filter(
        chain_id=client.deployment.chain_id, contract=client.contract("PaymentVault").address
    ).first()
    start = cursor.next_block if cursor else client.deployment.block_number
    return client.events(
        "PaymentVault", "Deposited", from_block=start, argument_filters={"account": account_id}
    )


def server_withdrawals_enabled() -> bool:
    """Whether the page offers to send a voucher's withdrawal from the server (development, like claims)."""
    from modelfactory.ledger.chain import server_claims_enabled

    return server_claims_enabled() and getattr(settings, "ENVIRONMENT", "development") != "production"


def withdrawal_of(user, pk: int) -> WithdrawalVoucher:
    """One of the person's own withdrawals; another person's is as absent as a missing one."""
    voucher = WithdrawalVoucher.objects.filter(pk=pk, user=user).first()
    if voucher is None:
        raise WithdrawalNotFound("no such withdrawal of yours")
    return voucher
