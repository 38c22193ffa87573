"""The earnings page in Chromium: the chart draws, figures are verified on chain, Claim pays."""

from __future__ import annotations

import pytest

from contracts.development_accounts import ANVIL_KEYS, address_of
from modelfactory.ledger.models import Payout
from modelfactory.ledger.services import epoch_close_and_commit
from tests.support.factories import make_user
from tests.support.paid_answers import paid_answer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WALLET = address_of(ANVIL_KEYS[1])


def test_a_contributor_sees_verified_earnings_and_claims_them(
    page, live_server, chain, payer, base_model, settings
):
    settings.MODELFACTORY_OPERATOR_WALLET = WALLET
    user = make_user("earner")
    user.wallet_address = WALLET
    user.save()
    for tokens in (100, 300):
        paid_answer(published=base_model, user=payer, tokens_in=tokens, tokens_out=tokens)
        epoch_close_and_commit(client=chain)
    balance = chain.balance_of(WALLET)

    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Username").fill("earner")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server.url + "/")
    page.goto(live_server.url + "/earnings/")

    page.locator('canvas[data-chart="earnings"][data-drawn="1"]').wait_for()
    assert page.locator("tr[data-epoch] .verified").count() == 2
    page.locator('tr[data-epoch="1"]').get_by_role("button", name="Claim").click()
    page.wait_for_url(live_server.url + "/earnings/")

    assert "Claimed epoch 1" in page.locator(".messages").inner_text()
    assert page.get_by_role("button", name="Claim", exact=True).count() == 1
    claimed = int(Payout.objects.get(epoch__number=1, account=WALLET).amount)
    assert chain.balance_of(WALLET) == balance + claimed

    page.goto(live_server.url + "/ledger/")
    assert page.locator("tr[data-epoch]").count() == 2
