"""Crediting deposits: the watcher that turns the vault's confirmed events into billing entries, once each.

`vault_events_sync` reads `Deposited` and `Withdrawn` events from a cursor stored in the database, only
up to the last block with `MODELFACTORY_DEPOSIT_CONFIRMATIONS` confirmations, so a deposit is credited
when a reorganisation can no longer take it away (in practice: 12 blocks on a mainnet-like chain; anvil
never reorganises, so development uses 1). Each block range is credited and the cursor moved past it in
one database transaction, so a crash or an unreachable node leaves the cursor where the credited events
end; billing's unique (tx hash, log index) makes a replayed event a no-op, so rescanning (a reset cursor,
two watchers at once) can never credit a deposit twice.

Whose deposit it is comes from the event's `account`, the vault account id the depositor paid into,
never from the wallet that sent it: anyone may pay into anyone's account. A deposit to an id that is no
user's is kept as an `UnassignedDeposit` for staff (see docs/chain.md for returning it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from hexbytes import HexBytes

from contracts.chain_client import ChainClient
from contracts.records import ChainEvent
from modelfactory.billing.services import deposit_credit
from modelfactory.vault.account_services import vault_account_owner
from modelfactory.vault.models import ChainCursor, UnassignedDeposit, WithdrawalVoucher

logger = logging.getLogger(__name__)

# One eth_getLogs call covers at most this many blocks: public RPC providers refuse wider ranges (many
# cap at 2,000 to 10,000), and a bounded range bounds the transaction that credits it.
BLOCKS_PER_READ = 2_000
# A run reads at most this many ranges, so a watcher catching up after a long outage yields to the next
# beat tick instead of running for minutes.
READS_PER_RUN = 50


@dataclass
class VaultSync:
    """What one run of the watcher did, for its log line and for tests."""

    credited: list[tuple[str, int]] = field(default_factory=list)  # (tx hash, log index)
    replayed: int = 0
    unassigned: int = 0
    withdrawn: list[int] = field(default_factory=list)  # voucher nonces
    read_to: int | None = None  # the last block read, if any
    final_block: int | None = None  # the newest block with enough confirmations


def deposit_confirmations() -> int:
    return max(1, int(getattr(settings, "MODELFACTORY_DEPOSIT_CONFIRMATIONS", 1)))


def final_block(client: ChainClient, *, confirmations: int | None = None) -> int:
    """The newest block with `confirmations` confirmations (1: the head itself)."""
    return client.block_number() - ((confirmations or deposit_confirmations()) - 1)


def _cursor(client: ChainClient) -> ChainCursor:
    deployment = client.deployment
    cursor, _ = ChainCursor.objects.get_or_create(
        chain_id=deployment.chain_id,
        contract=deployment.address_of("PaymentVault"),
        defaults={"next_block": deployment.block_number},
    )
    return cursor


def vault_events_sync(
    *,
    client: ChainClient,
    confirmations: int | None = None,
    blocks_per_read: int = BLOCKS_PER_READ,
    reads: int = READS_PER_RUN,
) -> VaultSync:
    """Credit every confirmed deposit not yet credited and mark withdrawn vouchers; safe to run any time.

    Raises `ChainUnavailable` when the node does not answer: what was read before stays credited and the
    cursor stays after it, so the next run goes on from there.
    """
    run = VaultSync()
    run.final_block = final_block(client, confirmations=confirmations)
    cursor = _cursor(client)
    for _ in range(reads):
        start = cursor.next_block
        if start > run.final_block:
            break
        end = min(run.final_block, start + blocks_per_read - 1)
        deposits = client.events("PaymentVault", "Deposited", from_block=start, to_block=end)
        withdrawals = client.events("PaymentVault", "Withdrawn", from_block=start, to_block=end)
        with transaction.atomic():
            cursor = ChainCursor.objects.select_for_update().get(pk=cursor.pk)
            if cursor.next_block != start:
                continue  # another watcher credited this range meanwhile: go on from where it stopped
            for event in deposits:
                _credit(event, run)
            for event in withdrawals:
                _mark_withdrawn(event, run)
            cursor.next_block = end + 1
            cursor.save(update_fields=["next_block", "updated"])
        run.read_to = end
    if run.credited or run.unassigned or run.withdrawn:
        logger.info(
            "vault: credited %s deposits, %s to no account, %s withdrawals seen, read to block %s",
            len(run.credited),
            run.unassigned,
            len(run.withdrawn),
            run.read_to,
        )
    return run


def _credit(event: ChainEvent, run: VaultSync) -> None:
    args = event.args
    user = vault_account_owner(args["account"])
    if user is None:
        _, created = UnassignedDeposit.objects.get_or_create(
            tx_hash=event.tx_hash.lower(),
            log_index=event.log_index,
            defaults={
                "block_number": event.block_number,
                "account_id": HexBytes(args["account"]).to_0x_hex(),
                "depositor": args["from"],
                "amount": args["amount"],
            },
        )
        if created:
            logger.warning(
                "vault: deposit %s#%s of %s from %s names account %s, which is no user's: held for staff",
                event.tx_hash,
                event.log_index,
                args["amount"],
                args["from"],
                HexBytes(args["account"]).to_0x_hex(),
            )
            run.unassigned += 1
        return
    credited = deposit_credit(
        user=user,
        amount=args["amount"],
        tx_hash=event.tx_hash,
        log_index=event.log_index,
        block_number=event.block_number,
    )
    if credited:
        run.credited.append((event.tx_hash, event.log_index))
    else:
        run.replayed += 1


def _mark_withdrawn(event: ChainEvent, run: VaultSync) -> None:
    nonce = event.args["nonce"]
    voucher = WithdrawalVoucher.objects.select_for_update().filter(nonce=str(nonce)).first()
    if voucher is None:
        logger.warning("vault: withdrawal with nonce %s is no voucher of this database", nonce)
        return
    if voucher.status == WithdrawalVoucher.Status.REFUNDED:
        # Cannot happen while refunds wait for a confirmed block past the deadline with the nonce unused:
        # the vault refuses the voucher from then on. Said loudly, because the user was paid twice.
        logger.error("vault: voucher %s was refunded but withdrawn in %s", nonce, event.tx_hash)
        return
    if voucher.status == WithdrawalVoucher.Status.ISSUED or not voucher.tx_hash:
        voucher.status = WithdrawalVoucher.Status.WITHDRAWN
        voucher.tx_hash = event.tx_hash
        voucher.closed = voucher.closed or timezone.now()
        voucher.save(update_fields=["status", "tx_hash", "closed"])
        run.withdrawn.append(nonce)
