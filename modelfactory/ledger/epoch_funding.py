"""Who pays for an epoch: the vault accounts of the users charged for its receipts, exactly that much.

An epoch pays out the fees of its receipts; each fee was charged to the answer's user when the answer
ended (billing's journal), from a balance funded by deposits into the PaymentVault. Committing moves the
money out of those users' vault accounts, so the debits are the charges summed per user. Shares of people
with no wallet to pay yet are not in the payout tree: they move into the vault's held-earnings account,
and a later epoch that pays them releases them from there (`selectors.epoch_funding` reads both). So

    payout total = charges - held + released,

to the base unit. When that fails, someone would be paid what nobody paid (or less than was charged): the
commit is refused, with the reason, before anything is sent; the vault checks the same sum on chain.
"""

from __future__ import annotations

from collections import defaultdict

from hexbytes import HexBytes

from contracts.records import Debit, VaultFunding
from modelfactory.billing.selectors import charges_by_receipt, receipts_uncharged
from modelfactory.ledger.models import Epoch, InferenceReceipt
from modelfactory.ledger.open_amounts import open_display
from modelfactory.ledger.selectors import epoch_funding
from modelfactory.vault.models import VaultAccount


class EpochNotFunded(Exception):
    """The epoch's payout total is not what its receipts were charged (less held, plus released shares),
    or a charge has no vault account to be debited from; the message says which and how much. Left for a
    human: the epoch stays queued, and the ones after it wait (epochs are committed in order)."""


def _show(amount: int) -> str:
    return f"{open_display(amount)} OPEN ({amount} base units)"


def vault_funding(epoch: Epoch) -> VaultFunding:
    """How the vault pays for `epoch`: debits per charged user's account (ordered by account id), and the
    held and released shares. Raises `EpochNotFunded`."""
    receipts = InferenceReceipt.objects.filter(epoch=epoch.number)
    charges = charges_by_receipt(receipts)
    payer_of = dict(receipts.filter(pk__in=list(charges)).values_list("pk", "user_id"))
    per_user: dict[int, int] = defaultdict(int)
    for receipt_pk, amount in charges.items():
        per_user[payer_of[receipt_pk]] += int(amount)
    shares = epoch_funding(epoch=epoch)
    charged, total = sum(per_user.values()), int(epoch.total)
    if charged - shares.held + shares.released != total:
        unpaid = receipts_uncharged(receipts)
        detail = (
            f"; {len(unpaid)} of its receipts have a fee and no charge, e.g. {unpaid[0].receipt_id}"
            if unpaid
            else ""
        )
        raise EpochNotFunded(
            f"epoch {epoch.number} pays out {_show(total)} but its receipts were charged {_show(charged)}, "
            f"it holds {_show(shares.held)} and releases {_show(shares.released)}{detail}: not committing it"
        )
    accounts = dict(
        VaultAccount.objects.filter(user_id__in=list(per_user)).values_list("user_id", "account_id")
    )
    missing = sorted(user for user, amount in per_user.items() if amount and user not in accounts)
    if missing:
        raise EpochNotFunded(
            f"epoch {epoch.number}: user(s) {', '.join(map(str, missing))} were charged but never deposited "
            "into the vault, so nothing on chain can pay their charges: not committing it"
        )
    debits = sorted(
        (Debit(bytes(HexBytes(accounts[user])), amount) for user, amount in per_user.items() if amount),
        key=lambda debit: debit.account_id,
    )
    return VaultFunding(tuple(debits), held=shares.held, released=shares.released)
