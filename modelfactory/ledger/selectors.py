"""Reads of the ledger for the pages: earnings per person (and per wallet), the epoch explorer, one receipt.

"Verified on chain" is decided here and nowhere else: a figure gets the mark only when the contract's
`verifyPayout` accepts the stored proof against the committed root. With the node down the page still
shows every figure, unmarked, and says why.

Earnings belong to the person: `earnings_for_user` gathers what receipts owe them under their person key,
what is held for them until they prove a wallet, and the payouts of every wallet they were paid at, so
nothing earned before (or under another wallet) drops off the page when a wallet is linked or changed.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Q
from eth_utils import is_address, to_checksum_address
from hexbytes import HexBytes

from contracts.chain_client import ChainClient
from contracts.errors import ChainError
from modelfactory.ledger.chain import reader_client
from modelfactory.ledger.errors import EpochNotFound, PayoutNotFound, ReceiptNotFound
from modelfactory.ledger.models import Epoch, InferenceReceipt, Payout, PersonEarning
from modelfactory.ledger.open_amounts import open_units
from modelfactory.ledger.payees import payout_wallet_of, person_key, person_of


@dataclass
class PayoutLine:
    payout: Payout
    verified: bool


@dataclass
class Earnings:
    account: str
    total_earned: int = 0
    pending: int = 0  # in receipts not yet in a committed epoch
    held: int = 0  # settled, but held for the person until they prove a wallet to pay it to
    claimable: int = 0
    claimed: int = 0
    lines: list[PayoutLine] = field(default_factory=list)
    by_model: list[tuple[str, int]] = field(default_factory=list)
    by_datanet: list[tuple[str, int]] = field(default_factory=list)
    chart: dict = field(default_factory=dict)
    chain_error: str = ""
    settlement_address: str = ""

    @property
    def claimable_count(self) -> int:
        """Payouts in committed epochs not claimed yet: what "Claim all" would send."""
        return sum(
            1
            for line in self.lines
            if line.payout.epoch.status == Epoch.Status.COMMITTED and not line.payout.claimed
        )

    @property
    def all_verified(self) -> bool:
        committed = [line for line in self.lines if line.payout.epoch.status == Epoch.Status.COMMITTED]
        return bool(committed) and all(line.verified for line in committed)


def _client_or_error(client: ChainClient | None) -> tuple[ChainClient | None, str]:
    if client is not None:
        return client, ""
    try:
        return reader_client(), ""
    except ChainError as error:
        return None, f"{type(error).__name__}: {error}"


def payout_verified(*, client: ChainClient, payout: Payout) -> bool:
    """The contract's own check of the stored proof against the committed root."""
    return client.verify_payout(
        epoch=payout.epoch.number,
        account=payout.account,
        amount=int(payout.amount),
        proof=[HexBytes(node) for node in payout.proof],
    )


def receipt_share(receipt: InferenceReceipt, account: str) -> int:
    """What `account` is owed by one receipt, whatever roles it held."""
    return sum(
        int(amount)
        for holder, amount in receipt.split.get("by_account", {}).items()
        if holder.lower() == account.lower()
    )


def earnings_for_wallet(*, account: str, client: ChainClient | None = None, verify: bool = True) -> Earnings:
    """Everything the earnings page would show for one wallet (a party that is no person here, like the
    compute operator), each committed payout checked on chain."""
    if not account or not is_address(account):
        return Earnings(account=account or "")
    account = to_checksum_address(account)
    return _earnings(
        account=account, accounts=[account], receipt_keys=[account], client=client, verify=verify
    )


def payout_accounts_of(user) -> list[str]:
    """The wallets a person's payouts go to: the one they may be paid at now (`payout_wallet_of`) and every
    wallet an earlier epoch paid them at (proven then), so earlier payouts stay theirs to see and claim."""
    accounts = set(
        PersonEarning.objects.filter(user=user).exclude(account="").values_list("account", flat=True)
    )
    if wallet := payout_wallet_of(user):
        accounts.add(to_checksum_address(wallet))
    return sorted(accounts)


def earnings_for_user(*, user, client: ChainClient | None = None, verify: bool = True) -> Earnings:
    """Everything the earnings page shows for a person: what receipts owe them, what is held for them,
    and the payouts of every wallet they were paid at, each committed payout checked on chain.

    `account` is the wallet they are paid at now, empty while they have none that may be paid (nothing is
    paid to a generated or unproven address: it is held, and shown as held).
    """
    wallet = payout_wallet_of(user)
    accounts = payout_accounts_of(user)
    # Receipts written before people had person keys owe them at the wallet they had then.
    legacy = [user.wallet_address] if user.wallet_address and is_address(user.wallet_address) else []
    keys = list(dict.fromkeys([person_key(user.pk), *accounts, *legacy]))
    earnings = _earnings(
        account=to_checksum_address(wallet) if wallet else "",
        accounts=accounts,
        receipt_keys=keys,
        client=client,
        verify=verify,
    )
    held = PersonEarning.objects.filter(user=user, paid_in__isnull=True).values_list("amount", flat=True)
    earnings.held = sum(int(amount) for amount in held)
    earnings.total_earned += earnings.held
    return earnings


def _contributor_part(receipt: InferenceReceipt, key: str, share: int) -> int:
    """How much of `share` the account earned as a contributor (the rest as developer or another role)."""
    paid = receipt.split.get("contributors")
    if paid is not None:
        return min(share, sum(int(v) for k, v in paid.items() if k.lower() == key.lower()))
    return share if receipt.attribution_record.contributors.get(key) is not None else 0


def _earnings(
    *, account: str, accounts: list[str], receipt_keys: list[str], client: ChainClient | None, verify: bool
) -> Earnings:
    """The figures of the payouts of `accounts` and of the receipts owing `receipt_keys`.

    By datanet splits the contributor part of each share by the receipt's datanet weights: an
    approximation of "where it came from" until per-row attribution lands; the rest of a share, and
    shares of answers that used no datanet, show under "no datanet".
    """
    earnings = Earnings(account=account)
    payouts = list(
        Payout.objects.filter(account__in=accounts)
        .select_related("epoch")
        .order_by("epoch__number", "account")
    )

    if verify and any(p.epoch.status == Epoch.Status.COMMITTED for p in payouts):
        client, earnings.chain_error = _client_or_error(client)
    else:
        client = None
    if client is not None:
        earnings.settlement_address = client.contract("AttributionSettlement").address
    for payout in payouts:
        verified = False
        if client is not None and payout.epoch.status == Epoch.Status.COMMITTED:
            try:
                verified = payout_verified(client=client, payout=payout)
            except ChainError as error:
                earnings.chain_error, client = f"{type(error).__name__}: {error}", None
        earnings.lines.append(PayoutLine(payout, verified))
        amount = int(payout.amount)
        if payout.claimed:
            earnings.claimed += amount
        elif payout.epoch.status == Epoch.Status.COMMITTED:
            earnings.claimable += amount
        else:
            earnings.pending += amount

    by_model: dict[str, int] = defaultdict(int)
    by_datanet: dict[str, int] = defaultdict(int)
    owing = Q()
    for key in receipt_keys:
        owing |= Q(split__by_account__has_key=key)
    receipts = (
        InferenceReceipt.objects.filter(owing).only("model_name", "split", "attribution", "epoch")
        if receipt_keys
        else InferenceReceipt.objects.none()
    )
    for receipt in receipts.iterator():
        shares = {key: receipt_share(receipt, key) for key in receipt_keys}
        share = sum(shares.values())
        if not share:
            continue
        if receipt.epoch is None:
            earnings.pending += share
        by_model[receipt.model_name] += share
        weights = receipt.attribution_record.datanets
        contributed = sum(_contributor_part(receipt, key, part) for key, part in shares.items())
        contributed = contributed if weights else 0
        for datanet, weight in weights.items():
            if contributed:
                by_datanet[datanet] += int(contributed * weight)
        if share - contributed:
            by_datanet["no datanet"] += share - contributed
    earnings.total_earned = earnings.claimed + earnings.claimable + earnings.pending
    earnings.by_model = sorted(by_model.items(), key=lambda item: -item[1])
    earnings.by_datanet = sorted(by_datanet.items(), key=lambda item: -item[1])

    running = 0
    labels, per_epoch, cumulative = [], [], []
    for payout in payouts:
        running += int(payout.amount)
        when = payout.epoch.committed_at or payout.epoch.created
        labels.append(f"#{payout.epoch.number} {when:%Y-%m-%d %H:%M}")
        per_epoch.append(float(open_units(payout.amount)))
        cumulative.append(float(open_units(running)))
    earnings.chart = {"labels": labels, "per_epoch": per_epoch, "cumulative": cumulative}
    return earnings


@dataclass(frozen=True)
class EpochFunding:
    """Where an epoch's payouts come from, in base units, and the rule they must meet.

    Held shares are charged when the answer is paid for and paid out later, so an epoch does not pay out
    exactly what it charged: paid = charged − held + released, where `held` is the part of this epoch's
    charges kept for people with no wallet to pay yet (paid in a later epoch) and `released` is what
    earlier epochs held that this one pays. Summed over all epochs: payouts + still held = charges.
    Commit refuses an epoch that does not balance.
    """

    charged: int
    held: int
    released: int
    paid: int

    @property
    def balanced(self) -> bool:
        return self.paid == self.charged - self.held + self.released


def epoch_funding(*, epoch: Epoch) -> EpochFunding:
    """The charges, held and released shares and payouts of one epoch, read from the database."""

    def total(queryset, field_name: str) -> int:
        # In Python over exact integers: SQLite would add these base-unit columns as floats.
        return sum(int(value) for value in queryset.values_list(field_name, flat=True))

    earned_here = PersonEarning.objects.filter(earned_in=epoch)
    return EpochFunding(
        charged=total(InferenceReceipt.objects.filter(epoch=epoch.number), "fee"),
        held=total(earned_here.exclude(paid_in=epoch), "amount"),
        released=total(PersonEarning.objects.filter(paid_in=epoch).exclude(earned_in=epoch), "amount"),
        paid=total(epoch.payouts.all(), "amount"),
    )


def epoch_list(*, limit: int = 200) -> list[Epoch]:
    return list(Epoch.objects.order_by("-number")[:limit])


def people_by_wallet(wallets: list[str]) -> dict[str, str]:
    """Lowercased wallet (or person key, ``person:<id>``) → the display name of the person here who holds
    it (wallets of nobody here are left out): pages name people, and show the address beside the name or
    alone."""
    from modelfactory.accounts.models import User
    from modelfactory.accounts.selectors import display_name_of

    spellings = {
        spelling for wallet in wallets if is_address(wallet) for spelling in (wallet, wallet.lower())
    }
    spellings |= {to_checksum_address(wallet) for wallet in wallets if is_address(wallet)}
    person_ids = {person for key in wallets if (person := person_of(key)) is not None}
    if not spellings and not person_ids:
        return {}
    names = {}
    if spellings:
        holders = User.objects.filter(wallet_address__in=spellings)
        names.update({user.wallet_address.lower(): display_name_of(user) for user in holders})
    if person_ids:
        people = User.objects.filter(pk__in=person_ids)
        names.update({person_key(user.pk): display_name_of(user) for user in people})
    return names


def receipt_payees(receipt: InferenceReceipt) -> list[tuple[str, str, int]]:
    """The receipt's "paid to" lines, largest first: (account, the person's name or "", amount). A person
    is owed under their person key; settlement pays their proven wallet or holds the share for them."""
    by_account = receipt.split.get("by_account", {})
    names = people_by_wallet(list(by_account))
    lines = [(account, names.get(account.lower(), ""), int(amount)) for account, amount in by_account.items()]
    return sorted(lines, key=lambda line: -line[2])


@dataclass
class PayoutEntry:
    payout: Payout
    name: str
    """The display name of the person holding the account, empty for a wallet of nobody here."""


@dataclass
class EpochDetail:
    epoch: Epoch
    payouts: list[PayoutEntry]
    more_payouts: int
    receipts: list[InferenceReceipt]
    more_receipts: int


EPOCH_PAGE_PAYOUTS = 500
EPOCH_PAGE_RECEIPTS = 100


def epoch_detail(*, number: int) -> EpochDetail:
    """One epoch as its page shows it: every payout (largest first) with its proof, and its receipts.

    Public, like the ledger: the roots are on chain for anyone, and a payout's proof is what anyone
    needs to check it against them.
    """
    epoch = Epoch.objects.filter(number=number).first()
    if epoch is None:
        raise EpochNotFound(f"no epoch {number}")
    payouts = list(epoch.payouts.order_by("-amount", "account")[:EPOCH_PAGE_PAYOUTS])
    names = people_by_wallet([payout.account for payout in payouts])
    receipts = list(
        InferenceReceipt.objects.filter(epoch=number).order_by("created", "id")[:EPOCH_PAGE_RECEIPTS]
    )
    return EpochDetail(
        epoch=epoch,
        payouts=[PayoutEntry(payout, names.get(payout.account.lower(), "")) for payout in payouts],
        more_payouts=max(0, epoch.payouts.count() - EPOCH_PAGE_PAYOUTS),
        receipts=receipts,
        more_receipts=max(0, epoch.receipt_count - len(receipts)),
    )


def claimable_payouts_of_user(user) -> list[Payout]:
    """The person's payouts in committed epochs not claimed yet, oldest first: only at wallets they may be
    paid at (proven, or proven when the epoch paid them), never at a generated or unproven address."""
    accounts = payout_accounts_of(user)
    if not accounts:
        return []
    return list(
        Payout.objects.filter(account__in=accounts, claimed=False, epoch__status=Epoch.Status.COMMITTED)
        .select_related("epoch")
        .order_by("epoch__number", "account")
    )


def claimable_payout_of_user(user, epoch: int) -> Payout:
    """The person's unclaimed payout of one committed epoch (`PayoutNotFound` if none is theirs)."""
    payout = next((p for p in claimable_payouts_of_user(user) if p.epoch.number == epoch), None)
    if payout is None:
        raise PayoutNotFound("no unclaimed payout to a wallet you proved in this epoch")
    return payout


def claimable_payouts(*, account: str) -> list[Payout]:
    """The account's payouts in committed epochs that are not claimed yet, oldest epoch first."""
    if not account or not is_address(account):
        return []
    return list(
        Payout.objects.filter(account__iexact=account, claimed=False, epoch__status=Epoch.Status.COMMITTED)
        .select_related("epoch")
        .order_by("epoch__number")
    )


@dataclass
class LedgerTotals:
    epochs: int
    committed: int
    queued: int
    settled: int
    receipts_settled: int
    receipts_unsettled: int


def ledger_totals() -> LedgerTotals:
    epochs = list(Epoch.objects.values_list("status", "total", "receipt_count"))
    committed = [e for e in epochs if e[0] == Epoch.Status.COMMITTED]
    return LedgerTotals(
        epochs=len(epochs),
        committed=len(committed),
        queued=len(epochs) - len(committed),
        settled=sum(int(e[1]) for e in committed),
        receipts_settled=sum(e[2] for e in committed),
        receipts_unsettled=InferenceReceipt.objects.filter(epoch__isnull=True).count(),
    )


def receipt_get(*, receipt_id: object) -> InferenceReceipt:
    """A receipt by its id, for anyone who has it, on every page and the API alike (`ReceiptNotFound`).

    Receipts are public records: the epoch explorer lists them and they settle on a public chain. What is
    not public is the evidence inside them, gated by `attribution_visible_to` wherever it is shown.
    """
    try:
        wanted = uuid.UUID(str(receipt_id))
    except ValueError:
        raise ReceiptNotFound(f"no receipt {receipt_id!r}: receipt ids are UUIDs") from None
    found = InferenceReceipt.objects.select_related("published_model").filter(receipt_id=wanted).first()
    if found is None:
        raise ReceiptNotFound(f"no receipt {wanted}")
    return found


def receipt_epoch(receipt: InferenceReceipt) -> Epoch | None:
    return Epoch.objects.filter(number=receipt.epoch).first() if receipt.epoch else None
