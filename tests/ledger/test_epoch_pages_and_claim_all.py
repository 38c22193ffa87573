"""Each epoch opens to its payouts, proofs and receipts; "Claim all" claims every committed payout of the
signed-in wallet; the ledger's tables scroll inside their cards and long hex strings may break."""

from __future__ import annotations

import re

import pytest
from hexbytes import HexBytes

from contracts.development_accounts import ANVIL_KEYS, address_of
from modelfactory.ledger.models import Epoch, InferenceReceipt, Payout
from modelfactory.ledger.services import epoch_close_and_commit
from tests.support.factories import make_user
from tests.support.paid_answers import paid_answer
from tests.support.services import free_port

pytestmark = pytest.mark.django_db

COMPUTE = address_of(ANVIL_KEYS[1])  # an anvil development account: the server may sign its claims


@pytest.fixture(autouse=True)
def _compute_operator_is_an_anvil_account(settings):
    settings.MODELFACTORY_OPERATOR_WALLET = COMPUTE


@pytest.fixture
def earner(client):
    """A signed-in person whose wallet is paid as the compute operator in every epoch."""
    user = make_user("earner")
    user.wallet_address, user.display_name = COMPUTE, "Compute Cooperative"
    user.save()
    client.force_login(user)
    return user


def settle(chain, published, payer, receipts: int = 2) -> Epoch:
    for i in range(receipts):
        paid_answer(published=published, user=payer, tokens_in=100 + i, tokens_out=200 + i)
    epoch_close_and_commit(client=chain)
    return Epoch.objects.order_by("-number").first()


def test_an_epoch_page_lists_its_payouts_with_proofs_that_the_contract_accepts(
    payer, client, chain, base_model, earner
):
    epoch = settle(chain, base_model, payer)

    page = client.get(f"/ledger/epochs/{epoch.number}/").content.decode()

    assert epoch.payouts_root in page
    assert epoch.tx_hash in page
    for payout in Payout.objects.filter(epoch=epoch):
        assert f'data-account="{payout.account}"' in page
        for node in payout.proof:
            assert f"<li>{node}</li>" in page
        assert chain.verify_payout(
            epoch=epoch.number,
            account=payout.account,
            amount=int(payout.amount),
            proof=[HexBytes(node) for node in payout.proof],
        )
    assert re.search(
        rf'data-account="{COMPUTE}">\s*<td class="wrap"><strong>Compute Cooperative</strong>', page
    )
    for receipt in InferenceReceipt.objects.filter(epoch=epoch.number):
        assert f"/receipts/{receipt.receipt_id}/" in page


def test_the_ledger_links_each_epoch_to_its_page_and_an_unknown_epoch_is_not_found(
    payer, client, chain, base_model
):
    epoch = settle(chain, base_model, payer)

    ledger = client.get("/ledger/").content.decode()

    assert f'href="/ledger/epochs/{epoch.number}/"' in ledger
    assert client.get("/ledger/epochs/999/").status_code == 404


def test_claim_all_claims_every_committed_payout_of_my_wallet(payer, client, chain, base_model, earner):
    first, second = settle(chain, base_model, payer), settle(chain, base_model, payer, receipts=1)
    owed = sum(int(p.amount) for p in Payout.objects.filter(account=COMPUTE))
    balance = chain.balance_of(COMPUTE)
    before = client.get("/earnings/").content.decode()

    response = client.post("/earnings/claim-all/", follow=True)

    after = response.content.decode()
    assert 'data-testid="claim-all"' in before
    assert "2 committed epochs not claimed yet" in before
    assert chain.balance_of(COMPUTE) == balance + owed
    assert chain.is_claimed(first.number, COMPUTE)
    assert chain.is_claimed(second.number, COMPUTE)
    assert f"(epochs #{first.number}, #{second.number})" in after
    assert 'data-testid="claim-all"' not in after
    assert not Payout.objects.filter(account=COMPUTE, claimed=False).exists()


def test_claim_all_with_nothing_to_claim_says_so(client, chain, base_model, earner):
    response = client.post("/earnings/claim-all/", follow=True)

    assert "Nothing to claim" in response.content.decode()


def test_claim_all_with_the_chain_gone_claims_nothing_and_says_why_for_each_epoch(
    payer, client, chain, base_model, earner, settings
):
    first, second = settle(chain, base_model, payer), settle(chain, base_model, payer, receipts=1)
    settings.CHAIN_RPC_URL = f"http://127.0.0.1:{free_port()}"

    page = client.post("/earnings/claim-all/", follow=True).content.decode()

    assert f"Could not claim epoch {first.number}: ChainUnavailable" in page
    assert f"Could not claim epoch {second.number}: ChainUnavailable" in page
    assert not Payout.objects.filter(claimed=True).exists()


def test_ledger_tables_scroll_inside_their_cards_and_hashes_may_break(
    payer, client, chain, base_model, earner
):
    epoch = settle(chain, base_model, payer)
    receipt = InferenceReceipt.objects.filter(epoch=epoch.number).first()

    pages = {
        "ledger": client.get("/ledger/").content.decode(),
        "epoch": client.get(f"/ledger/epochs/{epoch.number}/").content.decode(),
        "earnings": client.get("/earnings/").content.decode(),
        "receipt": client.get(f"/receipts/{receipt.receipt_id}/").content.decode(),
    }
    signing = client.post("/wallet/challenge/", {"address": COMPUTE}).content.decode()

    for name, page in pages.items():
        tables = page.count("<table")
        assert tables, name
        assert len(re.findall(r'<div class="table-scroll">\s*<table', page)) == tables, name
    assert '<code class="hex">' + epoch.payouts_root in pages["epoch"]
    assert re.search(r'<pre id="siwe-message" class="small siwe">', signing)
