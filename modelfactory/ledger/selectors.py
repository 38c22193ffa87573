"""Reads of the ledger for the pages: earnings per wallet, the epoch explorer, one receipt.

"Verified on chain" is decided here and nowhere else: a figure gets the mark only when the contract's
`verifyPayout` accepts the stored proof against the committed root. With the node down the page still
shows every figure, unmarked, and says why.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from eth_utils import is_address, to_checksum_address
from hexbytes import HexBytes

from contracts.chain_client import ChainClient
from contracts.errors import ChainError
from modelfactory.ledger.chain import reader_client
from modelfactory.ledger.models import Epoch, InferenceReceipt, Payout
from modelfactory.ledger.open_amounts import open_units


@dataclass
class PayoutLine:
    payout: Payout
    verified: bool


@dataclass
class Earnings:
    account: str
    total_earned: int = 0
    pending: int = 0  # in receipts not yet in a committed epoch
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
    """Everything the earnings page shows for one wallet, each committed payout checked on chain.

    By datanet splits the account's share of each receipt by the receipt's datanet weights: an
    approximation of "where it came from" until per-row attribution lands; shares of answers that
    used no datanet (base model answers, developer/platform roles) show under "no datanet".
    """
    if not account or not is_address(account):
        return Earnings(account=account or "")
    account = to_checksum_address(account)
    earnings = Earnings(account=account)
    payouts = list(Payout.objects.filter(account=account).select_related("epoch").order_by("epoch__number"))

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
    receipts = InferenceReceipt.objects.filter(split__by_account__has_key=account).only(
        "model_name", "split", "attribution", "epoch"
    )
    for receipt in receipts.iterator():
        share = receipt_share(receipt, account)
        if not share:
            continue
        if receipt.epoch is None:
            earnings.pending += share
        by_model[receipt.model_name] += share
        weights = receipt.attribution.get("datanets") or {}
        contributor_part = receipt.attribution.get("contributors", {}).get(account) is not None
        if weights and contributor_part:
            for datanet, weight in weights.items():
                by_datanet[datanet] += int(share * weight)
        else:
            by_datanet["no datanet"] += share
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


def epoch_list(*, limit: int = 200) -> list[Epoch]:
    return list(Epoch.objects.order_by("-number")[:limit])


def people_by_wallet(wallets: list[str]) -> dict[str, str]:
    """Lowercased wallet → the display name of the person here who holds it (wallets of nobody here are
    left out): pages name people, and show the address beside the name or alone."""
    from modelfactory.accounts.models import User
    from modelfactory.accounts.selectors import display_name_of

    spellings = {
        spelling for wallet in wallets if is_address(wallet) for spelling in (wallet, wallet.lower())
    }
    spellings |= {to_checksum_address(wallet) for wallet in wallets if is_address(wallet)}
    if not spellings:
        return {}
    holders = User.objects.filter(wallet_address__in=spellings)
    return {user.wallet_address.lower(): display_name_of(user) for user in holders}


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


def epoch_detail(*, number: int) -> EpochDetail | None:
    """One epoch as its page shows it: every payout (largest first) with its proof, and its receipts.

    Public, like the ledger: the roots are on chain for anyone, and a payout's proof is what anyone
    needs to check it against them.
    """
    epoch = Epoch.objects.filter(number=number).first()
    if epoch is None:
        return None
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


def receipt_get(*, receipt_id) -> InferenceReceipt | None:
    return InferenceReceipt.objects.select_related("published_model").filter(receipt_id=receipt_id).first()


def receipt_epoch(receipt: InferenceReceipt) -> Epoch | None:
    return Epoch.objects.filter(number=receipt.epoch).first() if receipt.epoch else None
