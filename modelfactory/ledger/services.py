"""Writes of the ledger: closing epochs, committing them on chain, claims, and wallet proofs.

Settlement is split in two steps on purpose. `epoch_close` assigns every unsettled receipt to the next
epoch number and stores the payout tree, in one database transaction, before any chain call; the chain
is then only asked to commit what the database already holds. `epoch_commit_pending` reads
`last_committed_epoch()` from the chain (the truth) and commits the queued epochs strictly in order,
so a crash between any two steps, or an outage, can delay an epoch but never commit it twice, skip it or
drop its receipts.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import is_address, keccak, to_checksum_address
from hexbytes import HexBytes

from contracts.chain_client import ChainClient
from contracts.development_accounts import development_index_of
from contracts.errors import (
    AlreadyClaimed,
    ChainError,
    ContractReverted,
    EpochAlreadyCommitted,
)
from contracts.fee_split import account_key
from contracts.merkle_tree import bytes32_root
from contracts.payout_tree import PayoutTree
from contracts.transactions import outages_as_chain_unavailable
from modelfactory.ledger.chain import OperatorKeyNotConfigured, development_key_for, settlement_client
from modelfactory.ledger.chain_writer_lease_services import (
    OPERATOR,
    ChainWriterBusy,
    chain_writer_lease,
    lease_renew,
)
from modelfactory.ledger.epoch_funding import EpochNotFunded, vault_funding
from modelfactory.ledger.errors import ClaimRefused, WalletVerificationFailed
from modelfactory.ledger.models import Epoch, InferenceReceipt, Payout, PersonEarning, WalletChallenge
from modelfactory.ledger.payees import payout_wallet_of, person_of

logger = logging.getLogger(__name__)

CHALLENGE_LIFETIME = timedelta(minutes=10)


class LedgerOutOfSync(Exception):
    """The database and the chain disagree (a different root on chain, or a gap): needs a human."""


# --- Closing an epoch (database only) ---------------------------------------------------------------
def receipt_hash(receipt: InferenceReceipt) -> bytes:
    """The 32-byte leaf of a receipt in its epoch's receipts root.

    Covers what the payouts were computed from (id, model, tokens, fee, split per account), as canonical
    JSON, so anyone holding the receipts can rebuild the root and compare it with the chain.
    """
    body = {
        "receipt_id": str(receipt.receipt_id),
        "model": receipt.model_name,
        "tokens_in": receipt.tokens_in,
        "tokens_out": receipt.tokens_out,
        "fee": str(int(receipt.fee)),
        "by_account": {
            account_key(account): str(int(amount))
            for account, amount in sorted(receipt.split.get("by_account", {}).items())
        },
    }
    return keccak(text=json.dumps(body, sort_keys=True, separators=(",", ":")))


@dataclass
class EpochPayouts:
    """What closing one epoch pays, holds and releases, in base units.

    The rule that keeps the money whole (checked at close, and by `selectors.epoch_funding` for commit):
    the payout tree's total = the fees charged by the epoch's receipts − the shares it holds for people
    with no wallet to pay + the shares held in earlier epochs that it releases. Held shares are charged
    when the answer is paid for and paid out later, so over all epochs the payouts plus what is still
    held equal everything charged, to the base unit.
    """

    owed: dict[str, int]
    """Checksummed address -> amount: the epoch's payout tree."""
    charged: int
    earned: dict[int, int]
    """Person (user id) -> their share of this epoch's receipts."""
    paid_to: dict[int, str]
    """Person -> the wallet paid now; a person with a share and no entry here has it held."""
    released: list = field(default_factory=list)
    """PersonEarning rows held in earlier epochs, paid into this one."""

    @property
    def newly_held(self) -> int:
        return sum(amount for person, amount in self.earned.items() if person not in self.paid_to)

    @property
    def released_total(self) -> int:
        return sum(int(row.amount) for row in self.released)


def _wallet_holders(receipts: list[InferenceReceipt]) -> dict[str, int]:
    """Checksummed address -> the one person here whose wallet it is, for receipts that owe an address.

    Receipts written before people were owed by person key name their wallet (perhaps generated, perhaps
    empty-then-filled); those are paid like person keys, so no receipt pays a generated address. The
    platform's own wallets stay the platform's, whoever else claims the same address.
    """
    from django.db.models.functions import Lower

    from modelfactory.accounts.models import User

    roles = {
        to_checksum_address(settings.MODELFACTORY_PLATFORM_WALLET),
        to_checksum_address(settings.MODELFACTORY_OPERATOR_WALLET),
    }
    addresses = {
        to_checksum_address(account)
        for receipt in receipts
        for account in receipt.split.get("by_account", {})
        if person_of(account) is None
    } - roles
    if not addresses:
        return {}
    holders: dict[str, list[int]] = defaultdict(list)
    rows = (
        User.objects.annotate(wallet=Lower("wallet_address"))
        .filter(wallet__in=[address.lower() for address in addresses])
        .values_list("wallet_address", "pk")
    )
    for wallet, pk in rows:
        holders[to_checksum_address(wallet)].append(pk)
    return {address: people[0] for address, people in holders.items() if len(people) == 1}


def _payout_amounts(receipts: list[InferenceReceipt]) -> EpochPayouts:
    """Turn the receipts' accounts into wallets, as of now: people are paid at the wallet they proved
    (`payees.payout_wallet_of`), or have their share held; earlier held shares of people who now have
    such a wallet are released into this epoch. Addresses (platform, operator, base model owner, and
    wallets of nobody here) are paid as they are. Call inside the closing transaction: the held rows are
    locked, so two closes never release the same share twice."""
    from modelfactory.accounts.models import User

    owed: dict[str, int] = defaultdict(int)
    earned: dict[int, int] = defaultdict(int)
    holders = _wallet_holders(receipts)
    for receipt in receipts:
        for account, amount in receipt.split.get("by_account", {}).items():
            person = person_of(account)
            if person is None:
                person = holders.get(to_checksum_address(account))
            if person is None:
                owed[to_checksum_address(account)] += int(amount)
            elif int(amount):
                earned[person] += int(amount)
    held = list(PersonEarning.objects.select_for_update().filter(paid_in__isnull=True).order_by("pk"))
    people = User.objects.in_bulk(set(earned) | {row.user_id for row in held})
    for person in [person for person in earned if person not in people]:
        # Nobody to hold it for (an account deleted since): the platform keeps it rather than lose it.
        owed[to_checksum_address(settings.MODELFACTORY_PLATFORM_WALLET)] += earned.pop(person)
    paid_to = {
        pk: to_checksum_address(wallet) for pk, user in people.items() if (wallet := payout_wallet_of(user))
    }
    for person, amount in earned.items():
        if person in paid_to:
            owed[paid_to[person]] += amount
    released = [row for row in held if row.user_id in paid_to]
    for row in released:
        owed[paid_to[row.user_id]] += int(row.amount)
    return EpochPayouts(
        owed=dict(owed),
        charged=sum(int(receipt.fee) for receipt in receipts),
        earned=dict(earned),
        paid_to=paid_to,
        released=released,
    )


def epoch_due(receipts: list[InferenceReceipt]) -> bool:
    """Close every `LEDGER_EPOCH_SECONDS` or as soon as `LEDGER_EPOCH_MAX_RECEIPTS` receipts wait.

    Each epoch costs a commit transaction (gas) and each payout a claim, so epochs should be neither
    tiny nor rare; the beat task runs often and this decides.
    """
    if not receipts:
        return False
    max_receipts = int(getattr(settings, "LEDGER_EPOCH_MAX_RECEIPTS", 1000))
    max_age = timedelta(seconds=int(getattr(settings, "LEDGER_EPOCH_SECONDS", 300)))
    return len(receipts) >= max_receipts or receipts[0].created <= timezone.now() - max_age


def epoch_close(*, only_when_due: bool = False) -> Epoch | None:
    """Assign every unsettled receipt to a new epoch and store its payout tree; None if nothing is owed
    (or, with `only_when_due`, when `epoch_due` says to wait).

    One transaction: either the epoch row, its payouts and the receipts' epoch number all exist, or none
    does. Receipts that owe nothing (zero fee) wait for the next epoch that owes something, because the
    contract refuses an empty payout tree.

    People are paid at the wallet they have proved now; a share of someone with no such wallet is held
    for them (`PersonEarning` with no `paid_in`) and released into the first epoch that closes after they
    prove one. So the tree's total = charged − newly held + released (`EpochPayouts`), checked here.
    """
    with transaction.atomic():
        # Answers whose attribution is still running wait for it (a bounded time), so they are paid
        # on their evidence rather than on lineage alone.
        attribution_deadline = timezone.now() - timedelta(
            seconds=settings.MODELFACTORY_ATTRIBUTION_SETTLE_WAIT_S
        )
        receipts = list(
            InferenceReceipt.objects.select_for_update()
            .filter(epoch__isnull=True)
            .exclude(
                attribution_status=InferenceReceipt.AttributionStatus.PENDING,
                created__gt=attribution_deadline,
            )
            .order_by("created", "pk")
        )
        if only_when_due and not epoch_due(receipts):
            return None
        plan = _payout_amounts(receipts)
        if not any(plan.owed.values()):
            return None
        tree = PayoutTree(plan.owed)
        if tree.total != plan.charged - plan.newly_held + plan.released_total:
            raise LedgerOutOfSync(
                f"payouts {tree.total} != charged {plan.charged} - held {plan.newly_held} "
                f"+ released {plan.released_total}: not closing"
            )
        number = (Epoch.objects.aggregate(highest=Max("number"))["highest"] or 0) + 1
        epoch = Epoch.objects.create(
            number=number,
            status=Epoch.Status.OPEN,
            payouts_root=HexBytes(tree.root).to_0x_hex(),
            receipts_root=HexBytes(bytes32_root([receipt_hash(r) for r in receipts])).to_0x_hex(),
            total=tree.total,
            receipt_count=len(receipts),
        )
        Payout.objects.bulk_create(
            Payout(
                epoch=epoch,
                account=payout.account,
                amount=payout.amount,
                proof=[HexBytes(node).to_0x_hex() for node in payout.proof],
            )
            for payout in tree.payouts()
        )
        PersonEarning.objects.bulk_create(
            PersonEarning(
                user_id=person,
                earned_in=epoch,
                amount=amount,
                paid_in=epoch if person in plan.paid_to else None,
                account=plan.paid_to.get(person, ""),
            )
            for person, amount in plan.earned.items()
        )
        for row in plan.released:
            row.paid_in, row.account = epoch, plan.paid_to[row.user_id]
        PersonEarning.objects.bulk_update(plan.released, ["paid_in", "account"])
        InferenceReceipt.objects.filter(pk__in=[r.pk for r in receipts]).update(epoch=number)
    logger.info("closed epoch %s: %s receipts, total %s", number, len(receipts), tree.total)
    return epoch


# --- Committing on chain --------------------------------------------------------------------------
def _tree_of(epoch: Epoch) -> PayoutTree:
    tree = PayoutTree({p.account: int(p.amount) for p in epoch.payouts.all()})
    if HexBytes(tree.root).to_0x_hex() != epoch.payouts_root:
        raise LedgerOutOfSync(f"epoch {epoch.number}: stored payouts do not rebuild the stored root")
    return tree


def _commit_log(client: ChainClient, number: int) -> dict | None:
    """The EpochCommitted log of `number` (transaction hash, block), for an epoch found on chain already."""
    event = client.contract("AttributionSettlement").events.EpochCommitted()
    start = client.deployment.block_number if client.deployment else 0
    with outages_as_chain_unavailable(client.rpc_url):
        logs = event.get_logs(from_block=start, argument_filters={"epoch": number})
    return logs[0] if logs else None


def _mark_committed_from_chain(client: ChainClient, epoch: Epoch) -> None:
    """The chain holds this epoch already (a crash after sending): check it is ours and record it."""
    record = client.epoch(epoch.number)
    if record is None or HexBytes(record.payout_root).to_0x_hex() != epoch.payouts_root:
        raise LedgerOutOfSync(
            f"epoch {epoch.number} on chain has another payout root than the database; not marking it"
        )
    log = _commit_log(client, epoch.number)
    tx_hash = HexBytes(log["transactionHash"]).to_0x_hex() if log else ""
    _record_landed(client, epoch, tx_hash=tx_hash, block_number=log["blockNumber"] if log else None)


def _record_landed(client: ChainClient, epoch: Epoch, *, tx_hash: str, block_number: int | None) -> None:
    """An epoch's commit is in a block: COMMITTED (claimable) once MODELFACTORY_EPOCH_CONFIRMATIONS blocks
    sit on top of it, COMMITTING with its transaction until then.

    A commit only one block deep can still be reorganised away; claims and earnings pages would then
    show money the chain no longer owes. Until it is deep enough each run re-reads the chain
    (`_mark_committed_from_chain`), and an epoch that vanished is committed again in order.
    """
    depth = settings.MODELFACTORY_EPOCH_CONFIRMATIONS
    confirmations = client.block_number() - block_number if block_number is not None else depth
    epoch.tx_hash, epoch.block_number = tx_hash, block_number
    if confirmations < depth:
        epoch.status = Epoch.Status.COMMITTING
        epoch.last_error = (
            f"in block {block_number}: waiting for {depth} confirmations ({confirmations} so far)"
        )
        epoch.save(update_fields=["status", "tx_hash", "block_number", "last_error"])
        logger.info(
            "epoch %s landed in block %s; %s/%s confirmations",
            epoch.number,
            block_number,
            confirmations,
            depth,
        )
        return
    epoch.status = Epoch.Status.COMMITTED
    epoch.committed_at = timezone.now()
    epoch.last_error = ""
    epoch.save(update_fields=["status", "tx_hash", "block_number", "committed_at", "last_error"])
    logger.info("committed epoch %s in %s (block %s)", epoch.number, tx_hash, block_number)


def epoch_commit(*, client: ChainClient, epoch: Epoch) -> Epoch:
    """Commit one queued epoch, which must be the chain's next; marks it committed when it landed.

    The epoch is paid for from the vault accounts of the users charged for its receipts
    (`epoch_funding.vault_funding`); `EpochNotFunded` (its payouts are not what was charged) is raised
    before anything is sent or marked, and the epoch stays queued with the reason.
    """
    tree = _tree_of(epoch)
    funding = vault_funding(epoch)
    Epoch.objects.filter(pk=epoch.pk).update(status=Epoch.Status.COMMITTING)
    epoch.status = Epoch.Status.COMMITTING
    try:
        result = client.commit_epoch(
            epoch=epoch.number,
            payouts=tree,
            receipts_root=HexBytes(epoch.receipts_root),
            receipt_count=epoch.receipt_count,
            funding=funding,
        )
    except EpochAlreadyCommitted:
        _mark_committed_from_chain(client, epoch)
        return epoch
    _record_landed(client, epoch, tx_hash=result.tx_hash, block_number=result.block_number)
    return epoch


def epoch_commit_pending(*, client: ChainClient, lease_holder: str | None = None) -> list[Epoch]:
    """Commit every queued epoch in order, the chain's `last_committed_epoch()` deciding what is done.

    Raises `ChainUnavailable` when the node goes away; what was committed before stays marked and the
    rest stays queued for the next run. With `lease_holder` (from `chain_writer_lease`) the lease is
    renewed before each epoch, and the run stops if it was lost.
    """
    pending = list(Epoch.objects.exclude(status=Epoch.Status.COMMITTED).order_by("number"))
    if not pending:
        return []
    last = client.last_committed_epoch()
    committed = []
    for epoch in pending:
        if lease_holder is not None and not lease_renew(OPERATOR, lease_holder):
            raise ChainWriterBusy("the lease to send the operator's transactions expired mid-run")
        if epoch.number <= last:
            _mark_committed_from_chain(client, epoch)
        elif epoch.number == last + 1:
            epoch_commit(client=client, epoch=epoch)
        else:
            raise LedgerOutOfSync(
                f"epoch {epoch.number} is queued but the chain's last epoch is {last}: "
                f"epoch {last + 1} is missing from the database or the chain lost its state"
            )
        last = epoch.number
        if epoch.status == Epoch.Status.COMMITTED:
            committed.append(epoch)
    return committed


@dataclass
class SettlementRun:
    """What one run of the settlement task did, for its log line and for tests."""

    closed: int | None = None
    committed: list[int] = field(default_factory=list)
    queued: list[int] = field(default_factory=list)
    error: str = ""


def epoch_close_and_commit(*, client: ChainClient | None = None) -> SettlementRun:
    """The beat task's body: close an epoch when one is due, then commit whatever is queued.

    Safe to run at any time, concurrently with requests and after any crash. With the node down the
    epoch is still closed in the database and waits, with the reason in `last_error`.
    """
    run = SettlementRun()
    try:
        with chain_writer_lease() as holder:
            closed = epoch_close(only_when_due=True)
            run.closed = closed.number if closed else None
            try:
                client = client or settlement_client()
                run.committed = [
                    epoch.number for epoch in epoch_commit_pending(client=client, lease_holder=holder)
                ]
            except (ChainError, LedgerOutOfSync, OperatorKeyNotConfigured, EpochNotFunded) as error:
                run.error = f"{type(error).__name__}: {error}"
                logger.warning("settlement deferred: %s", run.error)
    except ChainWriterBusy as busy:
        run.error = f"ChainWriterBusy: {busy}"
        logger.info("settlement skipped: %s", busy)
        return run
    run.queued = list(
        Epoch.objects.exclude(status=Epoch.Status.COMMITTED)
        .order_by("number")
        .values_list("number", flat=True)
    )
    if run.error and run.queued:
        Epoch.objects.filter(number=run.queued[0]).update(last_error=run.error[:2000])
    return run


# --- Claims ---------------------------------------------------------------------------------------
def payout_claim(*, payout: Payout, client: ChainClient | None = None) -> Payout:
    """Claim a committed payout from the server: signed by the account's own anvil key in development,
    else sent by the operator (the contract pays `account` whoever sends). Already claimed on chain
    (e.g. from the user's wallet) just marks it claimed here."""
    if payout.epoch.status != Epoch.Status.COMMITTED:
        raise ClaimRefused(f"epoch {payout.epoch.number} is not committed on chain yet")
    if payout.claimed:
        return payout
    client = client or settlement_client()
    try:
        result = client.claim(
            epoch=payout.epoch.number,
            account=payout.account,
            amount=int(payout.amount),
            proof=[HexBytes(node) for node in payout.proof],
            sender_key=development_key_for(payout.account),
        )
        payout.claim_tx = result.tx_hash
    except AlreadyClaimed:
        pass
    payout.claimed = True
    payout.claimed_at = timezone.now()
    payout.save(update_fields=["claimed", "claim_tx", "claimed_at"])
    return payout


@dataclass
class ClaimAllRun:
    claimed: list[Payout] = field(default_factory=list)
    refused: list[tuple[Payout, str]] = field(default_factory=list)
    """Payouts that could not be claimed, each with why; the others were claimed all the same."""


def payouts_claim_all(*, account: str, client: ChainClient | None = None) -> ClaimAllRun:
    """Claim every committed, unclaimed payout of ``account``, one `payout_claim` each, oldest first.

    A payout the contract refuses (a revert) does not stop the rest. A chain that cannot be reached or
    used (down, not deployed, no operator key) does: every later claim would fail the same way, each
    after the same timeout; they are all reported with that reason.
    """
    from modelfactory.ledger.selectors import claimable_payouts

    run = ClaimAllRun()
    payouts = claimable_payouts(account=account)
    for index, payout in enumerate(payouts):
        try:
            client = client or settlement_client()
            run.claimed.append(payout_claim(payout=payout, client=client))
        except (ClaimRefused, ContractReverted) as error:
            run.refused.append((payout, str(error)))
        except (ChainError, OperatorKeyNotConfigured) as error:
            reason = f"{type(error).__name__}: {error}"
            run.refused.extend((later, reason) for later in payouts[index:])
            break
    return run


# --- Sign-In with Ethereum (EIP-4361) -------------------------------------------------------------
def siwe_message(
    *, domain: str, address: str, uri: str, chain_id: int, nonce: str, issued_at, expires_at
) -> str:
    """The EIP-4361 text a wallet shows and signs (personal_sign); fields in the order the EIP fixes."""
    return (
        f"{domain} wants you to sign in with your Ethereum account:\n"
        f"{address}\n\n"
        "Prove that this wallet is yours so ModelFactory pays your earnings to it.\n\n"
        f"URI: {uri}\n"
        "Version: 1\n"
        f"Chain ID: {chain_id}\n"
        f"Nonce: {nonce}\n"
        f"Issued At: {issued_at.strftime('%Y-%m-%dT%H:%M:%SZ')}\n"
        f"Expiration Time: {expires_at.strftime('%Y-%m-%dT%H:%M:%SZ')}"
    )


def wallet_challenge_create(*, user, address: str, domain: str, uri: str) -> WalletChallenge:
    """Issue a fresh nonce and the message to sign for `address`; the message is stored verbatim, so
    verification never re-parses user-supplied text."""
    if not is_address(address):
        raise WalletVerificationFailed(f"{address!r} is not an Ethereum address")
    address = to_checksum_address(address)
    nonce = secrets.token_hex(12)
    now = timezone.now().replace(microsecond=0)
    expires = now + CHALLENGE_LIFETIME
    return WalletChallenge.objects.create(
        user=user,
        address=address,
        nonce=nonce,
        issued_at=now,
        expires_at=expires,
        message=siwe_message(
            domain=domain,
            address=address,
            uri=uri,
            chain_id=int(getattr(settings, "CHAIN_ID", 31337)),
            nonce=nonce,
            issued_at=now,
            expires_at=expires,
        ),
    )


@transaction.atomic
def wallet_verify(*, user, nonce: str, signature: str):
    """Recover the signer of the challenge's message; when it is the claimed address, that becomes the
    user's verified wallet. A nonce is spent by its first successful use and never accepted again."""
    challenge = WalletChallenge.objects.select_for_update().filter(user=user, nonce=nonce).first()
    if challenge is None:
        raise WalletVerificationFailed("unknown nonce: ask for a new message")
    if challenge.used_at is not None:
        raise WalletVerificationFailed("this message was used already: ask for a new one")
    if challenge.expires_at <= timezone.now():
        raise WalletVerificationFailed("this message expired: ask for a new one")
    try:
        signer = Account.recover_message(encode_defunct(text=challenge.message), signature=signature)
    except Exception as error:  # malformed hex, wrong length, bad v: all mean "not a signature"
        raise WalletVerificationFailed(f"not a valid signature: {error}") from error
    if signer != challenge.address:
        raise WalletVerificationFailed(f"signed by {signer}, not by {challenge.address}")
    if settings.ENVIRONMENT == "production" and development_index_of(signer) is not None:
        raise WalletVerificationFailed(
            f"{signer} is one of anvil's development accounts, whose key is public: "
            "prove a wallet of your own"
        )
    challenge.used_at = timezone.now()
    challenge.save(update_fields=["used_at"])
    user.wallet_address = challenge.address
    user.wallet_verified = True
    user.save(update_fields=["wallet_address", "wallet_verified"])
    return user
