"""Epochs on a real anvil: closed in the database first, committed once and in order, claimable."""

from __future__ import annotations

import pytest
from hexbytes import HexBytes

from contracts.development_accounts import ANVIL_KEYS, address_of
from contracts.merkle_tree import bytes32_root
from modelfactory.ledger import services
from modelfactory.ledger.models import Epoch, InferenceReceipt, Payout
from modelfactory.ledger.selectors import earnings_for_wallet
from modelfactory.ledger.services import epoch_close, epoch_close_and_commit, payout_claim, receipt_hash
from tests.support.paid_answers import paid_answer

pytestmark = pytest.mark.django_db

COMPUTE = address_of(ANVIL_KEYS[1])  # an anvil development account: the server may sign its claims


@pytest.fixture(autouse=True)
def _compute_operator_is_an_anvil_account(settings):
    settings.MODELFACTORY_OPERATOR_WALLET = COMPUTE


def record(published, payer, count: int, *, tokens: int = 100) -> list[InferenceReceipt]:
    """`count` answers asked and paid for by `payer`."""
    return [
        paid_answer(published=published, user=payer, tokens_in=tokens + i, tokens_out=2 * tokens + i)
        for i in range(count)
    ]


def committed_epochs(client) -> list[int]:
    return [event.args["epoch"] for event in client.events("AttributionSettlement", "EpochCommitted")]


def test_close_and_commit_settles_every_receipt_once(payer, chain, base_model):
    receipts = record(base_model, payer, 3)

    run = epoch_close_and_commit(client=chain)

    assert (run.closed, run.committed, run.queued, run.error) == (1, [1], [], "")
    epoch = Epoch.objects.get()
    assert epoch.status == Epoch.Status.COMMITTED
    assert epoch.tx_hash.startswith("0x")
    assert epoch.block_number
    assert set(InferenceReceipt.objects.values_list("epoch", flat=True)) == {1}
    on_chain = chain.epoch(1)
    assert on_chain.total == int(epoch.total) == sum(int(r.fee) for r in receipts)
    assert on_chain.receipt_count == 3
    assert HexBytes(on_chain.payout_root).to_0x_hex() == epoch.payouts_root
    assert on_chain.receipts_root == bytes32_root([receipt_hash(r) for r in receipts])
    assert sum(int(p.amount) for p in Payout.objects.all()) == int(epoch.total)

    again = epoch_close_and_commit(client=chain)

    assert (again.closed, again.committed) == (None, [])
    assert committed_epochs(chain) == [1]


def test_later_receipts_go_to_the_next_epoch(payer, chain, base_model):
    record(base_model, payer, 2)
    epoch_close_and_commit(client=chain)
    later = record(base_model, payer, 1)

    run = epoch_close_and_commit(client=chain)

    assert run.committed == [2]
    assert InferenceReceipt.objects.get(pk=later[0].pk).epoch == 2
    assert committed_epochs(chain) == [1, 2]


def test_a_crash_inside_close_assigns_nothing(payer, chain, base_model, monkeypatch):
    record(base_model, payer, 2)

    def crash(*args, **kwargs):
        raise RuntimeError("worker killed")

    with monkeypatch.context() as patched:
        patched.setattr(Payout.objects, "bulk_create", crash)
        with pytest.raises(RuntimeError):
            epoch_close_and_commit(client=chain)

    assert not Epoch.objects.exists()
    assert not InferenceReceipt.objects.filter(epoch__isnull=False).exists()
    assert epoch_close_and_commit(client=chain).committed == [1]


def test_a_crash_between_close_and_commit_commits_on_the_next_run(payer, chain, base_model):
    record(base_model, payer, 2)
    epoch_close()  # the process dies here, before any chain call

    run = epoch_close_and_commit(client=chain)

    assert (run.closed, run.committed) == (None, [1])
    assert committed_epochs(chain) == [1]


def test_a_crash_after_the_chain_commit_is_not_committed_twice(payer, chain, base_model, monkeypatch):
    record(base_model, payer, 2)
    real_commit = chain.commit_epoch

    def commit_then_die(**kwargs):
        real_commit(**kwargs)
        raise RuntimeError("worker killed after the transaction was mined")

    with monkeypatch.context() as patched:
        patched.setattr(chain, "commit_epoch", commit_then_die)
        with pytest.raises(RuntimeError):
            epoch_close_and_commit(client=chain)
    assert Epoch.objects.get().status == Epoch.Status.COMMITTING

    run = epoch_close_and_commit(client=chain)

    assert run.committed == [1]
    epoch = Epoch.objects.get()
    assert epoch.status == Epoch.Status.COMMITTED
    assert epoch.tx_hash.startswith("0x")
    assert epoch.block_number
    assert committed_epochs(chain) == [1]


def test_a_stale_read_of_the_chain_meets_epoch_already_committed(payer, chain, base_model, monkeypatch):
    """Two settlement runs racing: the loser is told by the contract and only marks the epoch."""
    record(base_model, payer, 1)
    epoch = epoch_close()
    services.epoch_commit(client=chain, epoch=epoch)
    Epoch.objects.filter(pk=epoch.pk).update(status=Epoch.Status.COMMITTING, tx_hash="", block_number=None)
    monkeypatch.setattr(chain, "last_committed_epoch", lambda: 0)

    run = epoch_close_and_commit(client=chain)

    assert run.committed == [1]
    assert Epoch.objects.get().status == Epoch.Status.COMMITTED
    assert committed_epochs(chain) == [1]


def test_a_claim_pays_the_wallet_and_moves_the_figure_to_claimed(payer, chain, base_model):
    record(base_model, payer, 3)
    epoch_close_and_commit(client=chain)
    before = earnings_for_wallet(account=COMPUTE, client=chain)
    owed = before.claimable
    balance = chain.balance_of(COMPUTE)

    assert owed > 0
    assert before.claimed == 0
    assert [line.verified for line in before.lines] == [True]

    payout_claim(payout=Payout.objects.get(account=COMPUTE), client=chain)

    after = earnings_for_wallet(account=COMPUTE, client=chain)
    assert (after.claimable, after.claimed, after.total_earned) == (0, owed, owed)
    assert chain.balance_of(COMPUTE) == balance + owed
    assert Payout.objects.get(account=COMPUTE).claim_tx.startswith("0x")
    assert chain.is_claimed(1, COMPUTE)


def test_a_generated_wallet_is_claimed_for_by_the_operator(payer, chain, base_model, settings):
    wallet = "0x" + "5a" * 20
    settings.MODELFACTORY_OPERATOR_WALLET = wallet
    record(base_model, payer, 1)
    epoch_close_and_commit(client=chain)
    payout = Payout.objects.get(account__iexact=wallet)

    payout_claim(payout=payout, client=chain)

    assert chain.balance_of(wallet) == int(payout.amount)


def test_a_figure_whose_proof_fails_is_not_marked_verified(payer, chain, base_model):
    record(base_model, payer, 2)
    epoch_close_and_commit(client=chain)
    Payout.objects.filter(account=COMPUTE).update(amount=10**30)

    earnings = earnings_for_wallet(account=COMPUTE, client=chain)

    assert [line.verified for line in earnings.lines] == [False]


def test_the_earnings_page_marks_verified_figures_and_claims(payer, client, chain, base_model, settings):
    from tests.support.factories import make_user

    user = make_user("earner")
    user.wallet_address = COMPUTE
    user.save()
    record(base_model, payer, 2)
    epoch_close_and_commit(client=chain)
    client.force_login(user)

    page = client.get("/earnings/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "verified on chain" in html
    assert 'data-chart="earnings"' in html
    assert "Claim</button>" in html
    assert "tiny-base" in html  # by model

    response = client.post("/earnings/claim/1/")

    assert response.status_code == 302
    assert Payout.objects.get(account=COMPUTE).claimed
    assert "Claim</button>" not in client.get("/earnings/").content.decode()


def test_the_ledger_page_lists_committed_epochs(payer, client, chain, base_model):
    record(base_model, payer, 2)
    epoch_close_and_commit(client=chain)
    epoch = Epoch.objects.get()

    html = client.get("/ledger/").content.decode()

    assert epoch.tx_hash in html
    assert epoch.payouts_root in html
    assert str(epoch.block_number) in html


def test_with_the_node_gone_the_earnings_page_shows_figures_unverified(
    payer, client, chain, base_model, settings
):
    from tests.support.factories import make_user
    from tests.support.services import free_port

    user = make_user("earner")
    user.wallet_address = COMPUTE
    user.save()
    record(base_model, payer, 1)
    epoch_close_and_commit(client=chain)
    settings.CHAIN_RPC_URL = f"http://127.0.0.1:{free_port()}"
    client.force_login(user)

    html = client.get("/earnings/").content.decode()

    assert "Chain not reachable" in html
    assert "not verified" in html
    assert "tag verified" not in html


def test_deploy_contracts_deploys_once_and_funds_the_operator(settings, anvil_url):
    from django.core.management import call_command

    from contracts.chain_client import ChainClient
    from contracts.development_accounts import DEVELOPMENT_OPERATOR_KEY

    settings.CHAIN_RPC_URL = anvil_url
    from modelfactory.accounts.services import user_upsert

    demo_user = user_upsert(username="funded_demo_user")
    call_command("deploy_contracts", mint=50)
    call_command("deploy_contracts", mint=50)  # idempotent: same addresses, no second mint

    client = ChainClient(anvil_url)
    deployment = client.find_deployment(settings.VAR_DIR)
    assert deployment is not None
    assert client.balance_of(address_of(DEVELOPMENT_OPERATOR_KEY)) >= 50 * 10**18
    assert len(list((settings.VAR_DIR / "chain").glob("deployment-*.json"))) == 1
    assert client.balance_of(demo_user.wallet_address) == 100 * 10**18  # minted once, not twice
