"""The whole money loop on anvil: users deposit, their answers are charged, an epoch pays the people whose
work answered them, everyone claims, and the OPEN that moved is exactly what was charged, to the base unit.

Nothing is minted for payouts and the operator pays nothing: every claimed base unit came out of a user's
deposit. Shares of people with no wallet yet wait in the vault's held-earnings account and are paid once
they prove one.
"""

from __future__ import annotations

import itertools

import pytest
from django.db.models import Sum

from contracts.development_accounts import ANVIL_KEYS, address_of
from datanets.models import Row
from modelfactory.billing.models import JournalEntry
from modelfactory.billing.selectors import balance_of, journal_totals
from modelfactory.catalog.models import PublishedModel
from modelfactory.catalog.services import model_publish_from_job
from modelfactory.ledger.models import Epoch, InferenceReceipt, Payout, PersonEarning
from modelfactory.ledger.services import epoch_close_and_commit, payout_claim
from modelfactory.vault.account_services import account_id_bytes
from tests.finetuning.jobs_support import train_tiny_job
from tests.ledger.conftest import OPEN
from tests.support.factories import make_user
from tests.support.paid_answers import paid_answer, vault_deposit

pytestmark = pytest.mark.django_db

PLATFORM, OPERATOR = address_of(ANVIL_KEYS[6]), address_of(ANVIL_KEYS[1])
PEOPLE_KEYS = (*ANVIL_KEYS[2:6], ANVIL_KEYS[7])  # the developer and up to four contributors


@pytest.fixture(autouse=True)
def _platform_and_operator_hold_development_accounts(settings):
    settings.MODELFACTORY_PLATFORM_WALLET, settings.MODELFACTORY_OPERATOR_WALLET = PLATFORM, OPERATOR


def give_wallet(user, key: str) -> None:
    """The user proves a wallet they hold (as Sign-In with Ethereum would set it)."""
    user.wallet_address, user.wallet_verified = address_of(key), True
    user.save(update_fields=["wallet_address", "wallet_verified"])


@pytest.fixture
def adapter(client, use_tiny_base_model) -> PublishedModel:
    """An adapter trained here on a datanet with several contributors, published by its developer."""
    developer = make_user("developer")
    # 4 other contributors: the held-out split (by row id, so by the suite's order) leaves at least two
    job = train_tiny_job(client, developer, use_tiny_base_model, max_steps=2, others_every=12)
    return model_publish_from_job(job=job, user=developer, api_name="sums", title="Sums")


def people_of(adapter: PublishedModel) -> list:
    """The developer, then everyone else whose rows trained the adapter."""
    rows = Row.objects.filter(pk__in=adapter.job.manifest["training_row_ids"]).select_related("contributor")
    others = sorted({row.contributor for row in rows} - {adapter.owner}, key=lambda user: user.pk)
    return [adapter.owner, *others]


def claim_everything(chain) -> int:
    """Every payout of every committed epoch claimed by (or for) its account; the OPEN paid out."""
    for payout in Payout.objects.filter(epoch__status=Epoch.Status.COMMITTED, claimed=False):
        payout_claim(payout=payout, client=chain)
    return sum(event.args["amount"] for event in chain.events("AttributionSettlement", "Claimed"))


def charged_total() -> int:
    return sum(JournalEntry.objects.filter(kind=JournalEntry.Kind.CHARGE).values_list("amount", flat=True))


def test_twenty_paid_answers_pay_every_contributor_exactly_what_the_users_were_charged(chain, adapter):
    base = PublishedModel.objects.get(api_name="tiny-base")
    people = people_of(adapter)
    assert len(people) >= 3, "the datanet has several contributors besides the developer"
    for person, key in zip(people, PEOPLE_KEYS, strict=False):
        give_wallet(person, key)
    payers = {make_user(f"payer{i}"): deposit for i, deposit in enumerate((3 * OPEN, 5 * OPEN, 7 * OPEN))}
    for payer, deposit in payers.items():
        vault_deposit(chain, user=payer, amount=deposit)
    operator_open = chain.balance_of(chain.operator_address)

    turns = itertools.cycle(payers)
    for answer in range(20):
        model = adapter if answer % 4 else base
        paid_answer(published=model, user=next(turns), tokens_in=40 + 7 * answer, tokens_out=60 + 11 * answer)
    run = epoch_close_and_commit(client=chain)
    claimed = claim_everything(chain)

    charged = charged_total()
    assert (run.committed, run.error) == ([1], "")
    assert (
        claimed == charged == sum(int(fee) for fee in InferenceReceipt.objects.values_list("fee", flat=True))
    )
    paid_to = set(Payout.objects.values_list("account", flat=True))
    assert {person.wallet_address for person in people} <= paid_to, "every contributor was paid"
    for payer, deposit in payers.items():
        spent = journal_totals(payer).charged
        assert chain.vault_balance(account_id_bytes(payer.vault_account)) == deposit - spent
        assert balance_of(payer).available == deposit - spent
    assert chain.balance_of(chain.contract("AttributionSettlement").address) == 0, "fully paid out"
    vault = chain.contract("PaymentVault").address
    assert chain.balance_of(vault) == chain.vault_total_balance() == sum(payers.values()) - charged
    assert chain.held_earnings() == 0
    assert chain.balance_of(chain.operator_address) == operator_open == 0, "the operator paid nothing"


def test_a_share_held_for_someone_without_a_wallet_waits_in_the_vault_and_is_paid_when_they_prove_one(
    chain, adapter
):
    base = PublishedModel.objects.get(api_name="tiny-base")
    people = people_of(adapter)
    late = people[1]  # a contributor who has not proved a wallet yet
    for person, key in zip(people, PEOPLE_KEYS, strict=False):
        if person != late:
            give_wallet(person, key)
    payer = make_user("payer")
    vault_deposit(chain, user=payer, amount=10 * OPEN)

    for tokens in (100, 200, 300):
        paid_answer(published=adapter, user=payer, tokens_in=tokens, tokens_out=tokens)
    first = epoch_close_and_commit(client=chain)
    held = PersonEarning.objects.filter(user=late, paid_in__isnull=True).aggregate(total=Sum("amount"))[
        "total"
    ]

    assert (first.committed, first.error) == ([1], "")
    assert held
    assert chain.held_earnings() == int(held), "what the ledger holds is held on chain"
    assert claim_everything(chain) + int(held) == charged_total()

    give_wallet(late, ANVIL_KEYS[8])
    late_before = chain.balance_of(late.wallet_address)
    paid_answer(published=base, user=payer, tokens_in=50, tokens_out=50)
    second = epoch_close_and_commit(client=chain)
    claimed = claim_everything(chain)

    assert (second.committed, second.error) == ([2], "")
    assert chain.held_earnings() == 0
    assert chain.balance_of(late.wallet_address) - late_before >= int(held)
    assert claimed == charged_total()
    assert chain.vault_balance(account_id_bytes(payer.vault_account)) == 10 * OPEN - charged_total()
    assert chain.balance_of(chain.contract("AttributionSettlement").address) == 0
