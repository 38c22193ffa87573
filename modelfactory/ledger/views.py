"""Thin views of the ledger: earnings, claims, the epoch explorer, shareable receipts, wallet proof."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from contracts.errors import ChainError
from modelfactory.ledger.chain import server_claims_enabled
from modelfactory.ledger.errors import ClaimRefused, WalletVerificationFailed
from modelfactory.ledger.open_amounts import open_display
from modelfactory.ledger.receipt_evidence import receipt_evidence
from modelfactory.ledger.selectors import (
    claimable_payout_of_user,
    claimable_payouts_of_user,
    earnings_for_user,
    epoch_detail,
    epoch_list,
    ledger_totals,
    receipt_epoch,
    receipt_get,
    receipt_payees,
)
from modelfactory.ledger.services import (
    ClaimAllRun,
    payout_claim,
    payouts_claim_all,
    wallet_challenge_create,
    wallet_verify,
)
from modelfactory.vault.views import wallet_page_context


@login_required
def earnings(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "ledger/earnings.html",
        {"earnings": earnings_for_user(user=request.user), "server_claims": server_claims_enabled()},
    )


@login_required
@require_POST
def claim(request: HttpRequest, epoch: int) -> HttpResponse:
    """Claim the signed-in person's payout of one epoch: only one paid to a wallet they proved."""
    payout = claimable_payout_of_user(request.user, epoch)
    if not server_claims_enabled():
        messages.error(request, "Claim from your wallet with the epoch, amount and proof shown below.")
        return redirect("ledger:earnings")
    try:
        payout = payout_claim(payout=payout)
    except (ClaimRefused, ChainError) as error:
        messages.error(request, f"Could not claim epoch {epoch}: {error}")
    else:
        messages.success(
            request, f"Claimed epoch {epoch}" + (f" in {payout.claim_tx}" if payout.claim_tx else "")
        )
    return redirect("ledger:earnings")


@login_required
@require_POST
def claim_all(request: HttpRequest) -> HttpResponse:
    """Claim every committed payout of the signed-in user's wallet at once."""
    if not server_claims_enabled():
        messages.error(
            request, "Claim from your wallet with the epoch, amount and proof shown for each payout."
        )
        return redirect("ledger:earnings")
    accounts = sorted({payout.account for payout in claimable_payouts_of_user(request.user)})
    runs = [payouts_claim_all(account=account) for account in accounts]
    run = ClaimAllRun(
        claimed=[payout for each in runs for payout in each.claimed],
        refused=[refusal for each in runs for refusal in each.refused],
    )
    if run.claimed:
        total = sum(int(payout.amount) for payout in run.claimed)
        epochs = ", ".join(f"#{payout.epoch.number}" for payout in run.claimed)
        messages.success(request, f"Claimed {open_display(total)} OPEN (epochs {epochs}).")
    for payout, reason in run.refused:
        messages.error(request, f"Could not claim epoch {payout.epoch.number}: {reason}")
    if not run.claimed and not run.refused:
        messages.info(request, "Nothing to claim: every committed payout of your wallet is claimed already.")
    return redirect("ledger:earnings")


def ledger(request: HttpRequest) -> HttpResponse:
    return render(request, "ledger/ledger.html", {"epochs": epoch_list(), "totals": ledger_totals()})


def epoch(request: HttpRequest, number: int) -> HttpResponse:
    """One epoch: its roots and transaction, every payout with its proof, its receipts."""
    detail = epoch_detail(number=number)
    return render(request, "ledger/epoch.html", {"detail": detail, "epoch": detail.epoch})


def receipt(request: HttpRequest, receipt_id) -> HttpResponse:
    found = receipt_get(receipt_id=receipt_id)
    attribution = found.attribution_record
    contributors = sorted(attribution.contributors.items(), key=lambda item: -item[1])
    datanets = sorted(attribution.datanets.items(), key=lambda item: -item[1])
    return render(
        request,
        "ledger/receipt.html",
        {
            "receipt": found,
            "attribution": attribution,
            "epoch": receipt_epoch(found),
            "contributors": contributors,
            "datanets": datanets,
            "roles": found.split.get("roles", {}),
            "by_account": receipt_payees(found),
            "evidence": receipt_evidence(found, request.user),
            "evidence_url": reverse("ledger:receipt_evidence", args=[found.receipt_id]),
        },
    )


def receipt_evidence_part(request: HttpRequest, receipt_id) -> HttpResponse:
    """The receipt's evidence alone: what its page polls while the attribution job runs. Once the job has
    run, the page reloads whole (htmx's HX-Refresh), since the job rewrote the receipt's contributors,
    methods and fee split as well as its evidence."""
    found = receipt_get(receipt_id=receipt_id)
    evidence = receipt_evidence(found, request.user)
    response = render(
        request,
        "attribution/_evidence.html",
        {"evidence": evidence, "evidence_url": reverse("ledger:receipt_evidence", args=[found.receipt_id])},
    )
    if not evidence["pending"]:
        response["HX-Refresh"] = "true"
    return response


@login_required
def wallet(request: HttpRequest) -> HttpResponse:
    return render(request, "ledger/wallet.html", {"challenge": None, **wallet_page_context(request)})


@login_required
@require_POST
def wallet_challenge(request: HttpRequest) -> HttpResponse:
    try:
        challenge = wallet_challenge_create(
            user=request.user,
            address=request.POST.get("address", "").strip(),
            domain=request.get_host(),
            uri=request.build_absolute_uri(reverse("ledger:wallet")),
        )
    except WalletVerificationFailed as error:
        messages.error(request, str(error))
        return redirect("ledger:wallet")
    return render(request, "ledger/wallet.html", {"challenge": challenge, **wallet_page_context(request)})


@login_required
@require_POST
def wallet_verify_view(request: HttpRequest) -> HttpResponse:
    try:
        wallet_verify(
            user=request.user,
            nonce=request.POST.get("nonce", ""),
            signature=request.POST.get("signature", "").strip(),
        )
    except WalletVerificationFailed as error:
        messages.error(request, f"Wallet not verified: {error}")
        return redirect("ledger:wallet")
    messages.success(request, f"Wallet {request.user.wallet_address} verified: your earnings are paid to it.")
    return redirect("ledger:earnings")
