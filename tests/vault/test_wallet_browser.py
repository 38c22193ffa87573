"""The wallet page in Chromium with a browser wallet: deposit (approve, then deposit) and withdraw with the
voucher, each sent by the wallet, credited by the watcher, and shown on the page.

The browser wallet is the one thing not real here: an EIP-1193 `window.ethereum` whose every request goes
to the test's anvil node, where the account is unlocked, as a wallet extension would send it after the
user confirmed. The page, its script, the server, the contracts and the watcher are the real ones.
"""

from __future__ import annotations

import httpx
import pytest

from contracts.development_accounts import ANVIL_KEYS, address_of
from modelfactory.billing.selectors import balance_of
from modelfactory.vault.models import WithdrawalVoucher
from modelfactory.vault.watch import vault_watch
from tests.ledger.conftest import OPEN
from tests.support.factories import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WALLET = address_of(ANVIL_KEYS[5])

BROWSER_WALLET = """
window.ethereum = {
  isTestWallet: true,
  async request({ method, params }) {
    if (method === "eth_requestAccounts" || method === "eth_accounts") return [%(account)r];
    const answer = await window.anvilRpc({ jsonrpc: "2.0", id: 1, method, params: params || [] });
    if (answer.error) throw new Error(answer.error.message);
    return answer.result;
  },
};
"""


def log_in(page, live_server, username: str) -> None:
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server.url + "/")


def test_a_user_deposits_and_withdraws_from_the_wallet_page_with_a_browser_wallet(page, live_server, chain):
    user = make_user("holder")
    user.wallet_address, user.wallet_verified = WALLET, True
    user.save()
    chain.mint(to=WALLET, amount=20 * OPEN)
    page.context.expose_function("anvilRpc", lambda payload: httpx.post(chain.rpc_url, json=payload).json())
    page.context.add_init_script(BROWSER_WALLET % {"account": WALLET})
    log_in(page, live_server, "holder")

    page.goto(live_server.url + "/wallet/")
    page.locator("#deposit").get_by_label("Amount in OPEN").fill("12.5")
    page.get_by_role("button", name="Prepare the deposit").click()
    page.get_by_role("button", name="Deposit with browser wallet").click()
    page.wait_for_url(live_server.url + "/wallet/", timeout=30_000)  # the script reloads once both are mined
    assert "1 deposit seen on chain" in page.get_by_test_id("waiting-deposits").inner_text()

    assert len(vault_watch(client=chain).events.credited) == 1  # what beat does every few seconds
    page.reload()
    assert page.locator('[data-figure="billing-available"]').inner_text() == "12.5"
    assert chain.balance_of(WALLET) == 15 * OPEN // 2

    page.locator("#withdraw").get_by_label("Amount in OPEN").fill("5")
    page.get_by_role("button", name="Withdraw", exact=True).click()
    page.wait_for_url(live_server.url + "/wallet/")
    assert page.locator('[data-figure="billing-available"]').inner_text() == "7.5"
    page.get_by_role("button", name="Withdraw with browser wallet").click()
    page.locator("tr[data-voucher] [data-transaction-status][data-done='1']").wait_for(timeout=30_000)
    vault_watch(client=chain)
    page.goto(live_server.url + "/wallet/")

    assert page.locator('tr[data-voucher][data-status="withdrawn"]').count() == 1
    assert WithdrawalVoucher.objects.get().status == WithdrawalVoucher.Status.WITHDRAWN
    assert chain.balance_of(WALLET) == 25 * OPEN // 2
    assert balance_of(user).available == 15 * OPEN // 2
    assert page.locator('[data-figure="on-chain"]').inner_text() == "7.5"
