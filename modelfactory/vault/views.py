"""Thin views of the wallet page's money: prepare a deposit, issue a withdrawal voucher, send it (dev).

The page itself is `ledger.views.wallet` (it also proves wallets); these render the same template with
the prepared transactions, or redirect back to it with what happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from contracts.errors import ChainError, ContractReverted
from modelfactory.billing.errors import BillingError
from modelfactory.ledger.chain import reader_client, settlement_client, voucher_client
from modelfactory.ledger.open_amounts import NotAnOpenAmount, base_units, open_display
from modelfactory.vault.browser_transactions import (
    BrowserTransaction,
    deposit_transactions,
    withdraw_transaction,
)
from modelfactory.vault.models import WithdrawalVoucher
from modelfactory.vault.selectors import server_withdrawals_enabled, wallet_overview, withdrawal_of
from modelfactory.vault.withdrawal_services import (
    WithdrawalRefused,
    withdrawal_voucher_issue,
    withdrawal_voucher_send,
)


@dataclass(frozen=True)
class VoucherRow:
    voucher: WithdrawalVoucher
    transaction: BrowserTransaction | None  # while it can still be sent
    script_id: str
    expires: datetime


def _for_script(transactions: list[BrowserTransaction]) -> list[dict]:
    """What the page's script sends, as `json_script` data (never hand-written JSON in the template)."""
    return [{"label": tx.label, "to": tx.to, "data": tx.data} for tx in transactions]


def wallet_page_context(request: HttpRequest, **extra) -> dict:
    """What `ledger/wallet.html` needs about the vault; shared with the ledger's wallet views."""
    overview = wallet_overview(user=request.user)
    rows = []
    for voucher in overview.vouchers:
        sendable = voucher.status == WithdrawalVoucher.Status.ISSUED
        transaction = withdraw_transaction(voucher) if sendable else None
        rows.append(
            VoucherRow(
                voucher=voucher,
                transaction=transaction,
                script_id=f"withdraw-{voucher.pk}",
                expires=datetime.fromtimestamp(voucher.deadline, tz=UTC),
            )
        )
    return {
        "vault": overview,
        "voucher_rows": rows,
        "voucher_scripts": {row.script_id: _for_script([row.transaction]) for row in rows if row.transaction},
        "server_withdrawals": server_withdrawals_enabled(),
        **extra,
    }


def _amount(request: HttpRequest) -> int | None:
    try:
        amount = base_units(request.POST.get("amount", ""))
    except NotAnOpenAmount as error:
        messages.error(request, str(error))
        return None
    if amount <= 0:
        messages.error(request, "Enter an amount of OPEN above 0.")
        return None
    return amount


@login_required
@require_POST
def deposit_prepare(request: HttpRequest) -> HttpResponse:
    """The two transactions that deposit the amount typed, for the browser wallet (or `cast`) to send."""
    amount = _amount(request)
    if amount is None:
        return redirect("ledger:wallet")
    try:
        transactions = deposit_transactions(user=request.user, amount=amount, client=reader_client())
    except ChainError as error:
        messages.error(request, f"The chain cannot be reached to prepare a deposit: {error}")
        return redirect("ledger:wallet")
    context = wallet_page_context(
        request,
        deposit_transactions=transactions,
        deposit_script=_for_script(transactions),
        deposit_amount=amount,
    )
    return render(request, "ledger/wallet.html", {"challenge": None, **context})


@login_required
@require_POST
def withdraw(request: HttpRequest) -> HttpResponse:
    """Take the amount off the balance and issue a voucher for it (shown on the wallet page to send)."""
    amount = _amount(request)
    if amount is None:
        return redirect("ledger:wallet")
    try:
        voucher = withdrawal_voucher_issue(user=request.user, amount=amount, client=voucher_client())
    except (WithdrawalRefused, BillingError) as error:
        messages.error(request, str(error))
    except ChainError as error:
        messages.error(request, f"The chain cannot be reached to issue a withdrawal: {error}")
    else:
        messages.success(
            request,
            f"{open_display(voucher.amount)} OPEN set aside for your withdrawal to {voucher.recipient}: "
            "send it below before the voucher expires (unsent, it comes back to your balance).",
        )
    return redirect("ledger:wallet")


@login_required
@require_POST
def withdraw_send(request: HttpRequest, pk: int) -> HttpResponse:
    """Development: the server sends the voucher's withdrawal (the OPEN still goes to its recipient)."""
    voucher = withdrawal_of(request.user, pk)
    if not server_withdrawals_enabled():
        messages.error(request, "Send the withdrawal from your wallet with the transaction shown.")
        return redirect("ledger:wallet")
    try:
        voucher = withdrawal_voucher_send(voucher=voucher, client=settlement_client())
    except (ContractReverted, ChainError) as error:
        messages.error(request, f"The withdrawal was not sent: {error}")
    else:
        messages.success(request, f"Withdrew {open_display(voucher.amount)} OPEN to {voucher.recipient}.")
    return redirect("ledger:wallet")
