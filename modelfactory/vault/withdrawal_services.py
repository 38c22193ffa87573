"""Withdrawals: a voucher is signed only after billing took the amount off the balance, and the amount
comes back only once the chain proves the voucher can never be used.

So the contract and the ledger cannot disagree about what a user may withdraw: every base unit a voucher
lets the vault pay out was first taken off the ledger's balance (`withdrawal_reserve`), and the vault pays
a voucher at most once (its nonce) and never beyond the account's on-chain balance. A voucher that was not
used is refunded (`withdrawal_refund`) only when a block with enough confirmations is later than its
deadline and its nonce was unused in that block: from that block on the vault refuses the voucher, and a
confirmed block cannot be taken back, so the refunded units can never also be withdrawn.
"""

from __future__ import annotations

import logging
import time

from django.db import transaction
from django.utils import timezone
from hexbytes import HexBytes

from contracts.chain_client import ChainClient
from contracts.errors import VoucherUsed
from contracts.withdrawal_voucher import WithdrawalVoucher as SignedVoucher
from contracts.withdrawal_voucher import new_nonce
from modelfactory.billing.services import withdrawal_refund, withdrawal_reserve
from modelfactory.ledger.payees import payout_wallet_of
from modelfactory.vault.account_services import account_id_bytes
from modelfactory.vault.deposit_services import final_block
from modelfactory.vault.errors import WithdrawalRefused
from modelfactory.vault.models import VaultAccount, WithdrawalVoucher

logger = logging.getLogger(__name__)

# Long enough to approve the transaction in a wallet, short enough that an abandoned withdrawal is back on
# the balance within the hour (plus the confirmations the refund waits for).
VOUCHER_LIFETIME_S = 3600


def withdrawal_voucher_issue(*, user, amount: int, client: ChainClient) -> WithdrawalVoucher:
    """Take `amount` off the user's balance and sign a voucher paying it from their vault account to
    their proven wallet. Raises `WithdrawalRefused`, or billing's `InsufficientBalance`.

    The deadline counts from the later of this server's clock and the chain's latest block, because the
    vault compares it with `block.timestamp` and a quiet development chain's last block may be old.
    """
    recipient = payout_wallet_of(user)
    if recipient is None:
        raise WithdrawalRefused(
            "Prove a wallet you hold first (Sign-In with Ethereum on this page): withdrawals are paid only "
            "to a wallet you proved."
        )
    account = VaultAccount.objects.filter(user_id=user.pk).first()
    if account is None:
        raise WithdrawalRefused("You have not deposited anything to withdraw.")
    nonce = new_nonce()
    deadline = max(int(time.time()), client.block_timestamp()) + VOUCHER_LIFETIME_S
    with transaction.atomic():
        entry = withdrawal_reserve(user=user, amount=amount, reference=f"voucher {nonce}")
        signed = client.withdrawal_voucher(
            account_id=account_id_bytes(account),
            recipient=recipient,
            amount=amount,
            nonce=nonce,
            deadline=deadline,
        )
        voucher = WithdrawalVoucher.objects.create(
            user=user,
            entry=entry,
            chain_id=signed.chain_id,
            vault=signed.vault,
            account_id=account.account_id,
            recipient=signed.recipient,
            amount=amount,
            nonce=str(nonce),
            deadline=deadline,
            signature=HexBytes(signed.signature).to_0x_hex(),
        )
    logger.info("vault: voucher %s issued to %s for %s", nonce, recipient, amount)
    return voucher


def signed_voucher(voucher: WithdrawalVoucher) -> SignedVoucher:
    """The voucher as the contract takes it."""
    return SignedVoucher(
        chain_id=voucher.chain_id,
        vault=voucher.vault,
        account=bytes(HexBytes(voucher.account_id)),
        recipient=voucher.recipient,
        amount=int(voucher.amount),
        nonce=int(voucher.nonce),
        deadline=voucher.deadline,
        signature=bytes(HexBytes(voucher.signature)),
    )


def withdrawal_voucher_send(*, voucher: WithdrawalVoucher, client: ChainClient) -> WithdrawalVoucher:
    """Send the voucher's `withdraw` from the server (the operator pays the gas; the OPEN still goes to the
    voucher's recipient): what the wallet page does in development, like server claims."""
    try:
        result = client.withdraw(signed_voucher(voucher))
        tx_hash = result.tx_hash
    except VoucherUsed:
        tx_hash = voucher.tx_hash  # withdrawn from a wallet meanwhile; the watcher records its transaction
    with transaction.atomic():
        voucher = WithdrawalVoucher.objects.select_for_update().get(pk=voucher.pk)
        if voucher.status == WithdrawalVoucher.Status.ISSUED:
            voucher.status = WithdrawalVoucher.Status.WITHDRAWN
            voucher.tx_hash = tx_hash
            voucher.closed = timezone.now()
            voucher.save(update_fields=["status", "tx_hash", "closed"])
    return voucher


def withdrawal_vouchers_expire(
    *, client: ChainClient, confirmations: int | None = None
) -> list[WithdrawalVoucher]:
    """Refund every issued voucher that the chain proves unusable; mark used ones withdrawn.

    Reads the chain at the newest block with enough confirmations: a voucher whose deadline is before
    that block's timestamp and whose nonce was unused in it is refused by the vault from then on.
    Raises `ChainUnavailable` when the node does not answer (nothing is refunded then).
    """
    issued = WithdrawalVoucher.objects.filter(status=WithdrawalVoucher.Status.ISSUED)
    if not issued.exists():
        return []
    block = final_block(client, confirmations=confirmations)
    timestamp = client.block_timestamp(block)
    refunded = []
    for candidate in issued.filter(deadline__lt=timestamp).order_by("deadline", "pk"):
        used = client.nonce_used(int(candidate.nonce), block=block)
        with transaction.atomic():
            voucher = WithdrawalVoucher.objects.select_for_update().get(pk=candidate.pk)
            if voucher.status != WithdrawalVoucher.Status.ISSUED:
                continue
            voucher.closed = timezone.now()
            if used:
                voucher.status = WithdrawalVoucher.Status.WITHDRAWN
            else:
                withdrawal_refund(voucher.entry)
                voucher.status = WithdrawalVoucher.Status.REFUNDED
                refunded.append(voucher)
            voucher.save(update_fields=["status", "closed"])
    if refunded:
        logger.info("vault: refunded %s expired vouchers", len(refunded))
    return refunded
