"""The PaymentVault as the platform knows it: whose account is which, how far its events were read, and
the withdrawal vouchers issued.

Balances themselves live in the billing app (`billing.Balance` and its journal); this app connects them to
the contract: a deposit event becomes a billing credit through `VaultAccount`, a billing withdrawal becomes
an on-chain withdrawal through a `WithdrawalVoucher`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from modelfactory.billing.base_units_field import BaseUnitsField


class VaultAccount(models.Model):
    """A user's account in the PaymentVault: the 32-byte id that deposits name and epoch commits debit.

    Random rather than derived from the user's id, so the chain's deposits and debits do not say who the
    user is. Balances on chain are kept per account, not per wallet, so a user may deposit from any wallet
    and change the wallet they withdraw to without the chain and the ledger drifting apart.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="vault_account"
    )
    account_id = models.CharField(max_length=66, unique=True, help_text="0x-hex bytes32.")
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user} · {self.account_id[:10]}…"


class ChainCursor(models.Model):
    """How far the watcher has read one vault's events: every block before `next_block` is done.

    Kept per chain and vault address, so a development chain that was redeployed is read from its new
    deployment's first block rather than from where the old one stopped.
    """

    chain_id = models.PositiveBigIntegerField()
    contract = models.CharField(max_length=42, help_text="The vault's checksummed address.")
    next_block = models.PositiveBigIntegerField()
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "contract"], name="vault_one_cursor_per_vault")
        ]

    def __str__(self) -> str:
        return f"{self.chain_id}:{self.contract} from block {self.next_block}"


class UnassignedDeposit(models.Model):
    """A deposit to a vault account id that belongs to no user (a wrong id typed into a direct contract
    call): nobody is credited, and staff see it on the wallet page with who sent it, to return it."""

    tx_hash = models.CharField(max_length=66)
    log_index = models.PositiveIntegerField()
    block_number = models.PositiveBigIntegerField()
    account_id = models.CharField(max_length=66, db_index=True)
    depositor = models.CharField(max_length=42, help_text="Who sent it (checksummed).")
    amount = BaseUnitsField()
    seen = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-block_number", "-log_index"]
        constraints = [
            models.UniqueConstraint(fields=["tx_hash", "log_index"], name="vault_unassigned_deposit_once")
        ]

    def __str__(self) -> str:
        return f"{self.amount} to {self.account_id[:10]}… from {self.depositor}"


class WithdrawalVoucher(models.Model):
    """A signed permission to withdraw, issued only after its amount was taken off the user's balance.

    Issued → withdrawn when its `Withdrawn` event is seen (or the nonce is spent on chain), or → refunded
    once its deadline has passed in a confirmed block while its nonce was still unused there: from then on
    the vault refuses it, so giving the amount back cannot let the same units be withdrawn and spent.
    """

    class Status(models.TextChoices):
        ISSUED = "issued", "Waiting for the withdrawal"
        WITHDRAWN = "withdrawn", "Withdrawn"
        REFUNDED = "refunded", "Expired, refunded"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="withdrawal_vouchers"
    )
    entry = models.OneToOneField(
        "billing.JournalEntry",
        on_delete=models.PROTECT,
        related_name="voucher",
        help_text="The billing withdrawal that reserved the amount.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ISSUED, db_index=True)
    chain_id = models.PositiveBigIntegerField()
    vault = models.CharField(max_length=42)
    account_id = models.CharField(max_length=66)
    recipient = models.CharField(max_length=42)
    amount = BaseUnitsField()
    nonce = models.CharField(max_length=40, unique=True, help_text="A random uint128, in decimal.")
    deadline = models.PositiveBigIntegerField(help_text="Unix seconds; the vault refuses it after this.")
    signature = models.CharField(max_length=132, help_text="0x-hex, 65 bytes.")
    created = models.DateTimeField(auto_now_add=True)
    closed = models.DateTimeField(null=True, blank=True)
    tx_hash = models.CharField(max_length=66, blank=True, help_text="The withdrawal's transaction.")

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"voucher {self.nonce} · {self.amount} to {self.recipient} ({self.status})"
