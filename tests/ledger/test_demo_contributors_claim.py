"""The demo's loop closes on a real anvil: the demo user pays for answers of the fine-tune it trained on a
seed datanet, the seed contributors whose rows trained it earn by attribution, and one of them logs in with
the documented password `demo` and claims on /earnings/: the OPEN lands in the development account seeding
gave them (anvil's account 10 onwards, which the server signs the claim with).
"""

from __future__ import annotations

from collections import Counter

import pytest
from django.db.models import Sum

from contracts.development_accounts import FIRST_CONTRIBUTOR_ACCOUNT, development_address
from datanets.demo_seeding import DEMO_CONTRIBUTOR_PASSWORD, DEMO_USERNAME, seed_demo_data
from datanets.models import Datanet, Row
from datanets.seed import seed_contributors
from modelfactory.accounts.models import User
from modelfactory.catalog.models import BaseModel
from modelfactory.catalog.services import model_publish_from_job
from modelfactory.finetuning.models import FineTuneJob
from modelfactory.finetuning.services import job_run
from modelfactory.ledger.models import Payout, PersonEarning
from modelfactory.ledger.services import epoch_close_and_commit
from tests.finetuning.jobs_support import walk_wizard
from tests.ledger.conftest import OPEN
from tests.support.paid_answers import paid_answer, vault_deposit

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_adapter(client, use_tiny_base_model):
    """The demo as `make run` loads it, and the demo user's fine-tune of Lumen Support Desk, published
    (a tiny base model and two steps instead of SmolLM2 and the Quick preset)."""
    seed_demo_data()
    demo = User.objects.get(username=DEMO_USERNAME)
    client.force_login(demo)
    version = Datanet.objects.get(slug="lumen-support").versions.get(number=1)
    base = BaseModel.objects.get(is_default=True)
    walk_wizard(client, base_model=base, version=version, max_steps=2, save_every=2, name="Lumen")
    job = FineTuneJob.objects.filter(owner=demo).latest("created")
    job_run(job_id=job.pk, worker="w@host")
    client.logout()
    return model_publish_from_job(
        job=FineTuneJob.objects.get(pk=job.pk),
        user=demo,
        api_name="lumen-support-assistant",
        title="Lumen support assistant",
    )


def test_a_seed_contributor_logs_in_and_claims_what_the_demos_answers_earned_them(
    client, chain, demo_adapter, settings
):
    settings.LEDGER_SERVER_CLAIMS = True
    demo = User.objects.get(username=DEMO_USERNAME)
    vault_deposit(chain, user=demo, amount=100 * OPEN)  # what deploy_contracts prepays in `make run`
    for answer in range(6):
        paid_answer(
            published=demo_adapter, user=demo, tokens_in=80 + 9 * answer, tokens_out=120 + 13 * answer
        )
    run = epoch_close_and_commit(client=chain)
    assert (run.committed, run.error) == ([1], "")

    rows = Row.objects.filter(pk__in=demo_adapter.job.manifest["training_row_ids"])
    trained = Counter(rows.values_list("contributor__username", flat=True))
    roster = [seed.username for seed in seed_contributors()]
    assert len(trained) > 3, "several seed contributors' rows trained it"
    assert not PersonEarning.objects.filter(user__username__in=trained, paid_in__isnull=True).exists(), (
        "no seed contributor's share is held: each is paid at their development account"
    )
    paid = set(Payout.objects.filter(epoch__number=1).values_list("account", flat=True))
    for username in trained:
        assert development_address(FIRST_CONTRIBUTOR_ACCOUNT + roster.index(username)) in paid

    username = trained.most_common()[-1][0]  # someone with few rows: not just the datanet's owner
    account = development_address(FIRST_CONTRIBUTOR_ACCOUNT + roster.index(username))
    assert client.login(username=username, password=DEMO_CONTRIBUTOR_PASSWORD)
    profile = client.get("/accounts/profile/").content.decode()
    assert account in profile
    assert f"anvil's development account {roster.index(username) + FIRST_CONTRIBUTOR_ACCOUNT}" in profile
    page = client.get("/earnings/")
    earnings = page.context["earnings"]
    payout = Payout.objects.get(epoch__number=1, account=account)
    assert earnings.account == account
    assert (earnings.held, earnings.claimable) == (0, int(payout.amount))
    assert earnings.claimable > 0
    assert "Claim</button>" in page.content.decode()
    before = chain.balance_of(account)

    claimed = client.post("/earnings/claim/1/", follow=True).content.decode()

    payout.refresh_from_db()
    assert "Claimed epoch 1" in claimed
    assert payout.claimed
    assert payout.claim_tx.startswith("0x")
    assert chain.balance_of(account) - before == int(payout.amount), "the OPEN reached their account"
    sent = chain.web3.eth.get_transaction(payout.claim_tx)
    assert sent["from"] == account, "signed with the account's own development key"
    assert chain.is_claimed(1, account)
    after = client.get("/earnings/").context["earnings"]
    assert (after.claimable, after.claimed) == (0, int(payout.amount))
    # The demo user trained the adapter; its generated wallet is nobody's, so its developer share is held.
    held = PersonEarning.objects.filter(user=demo, paid_in__isnull=True).aggregate(total=Sum("amount"))
    assert chain.held_earnings() == int(held["total"] or 0)
