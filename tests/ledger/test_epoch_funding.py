"""An epoch is paid out of what its receipts were charged, from the payers' vault accounts, and refused (with
the reason, before anything is sent) when the two do not match: nobody is paid what nobody paid."""

from __future__ import annotations

import pytest

from modelfactory.ledger.epoch_funding import EpochNotFunded, vault_funding
from modelfactory.ledger.models import Epoch
from modelfactory.ledger.receipt_services import receipt_record
from modelfactory.ledger.services import epoch_close, epoch_close_and_commit
from modelfactory.vault.account_services import account_id_bytes, vault_account_get_or_create
from tests.ledger.conftest import OPEN
from tests.support.factories import make_user
from tests.support.funding import fund
from tests.support.paid_answers import paid_answer, vault_deposit

pytestmark = pytest.mark.django_db


def test_each_payer_is_debited_what_they_were_charged_in_the_epoch(chain, base_model):
    alice, bob = make_user("alice"), make_user("bob")
    vault_deposit(chain, user=alice, amount=5 * OPEN)
    vault_deposit(chain, user=bob, amount=5 * OPEN)
    fees = {alice: 0, bob: 0}
    for user, tokens in ((alice, 100), (bob, 250), (alice, 40)):
        fees[user] += int(
            paid_answer(published=base_model, user=user, tokens_in=tokens, tokens_out=tokens).fee
        )

    epoch = epoch_close()
    funding = vault_funding(epoch)

    debited = {debit.account_id: debit.amount for debit in funding.debits}
    assert debited == {account_id_bytes(user.vault_account): fee for user, fee in fees.items()}
    assert [debit.account_id for debit in funding.debits] == sorted(debited)
    assert funding.total == int(epoch.total)
    run = epoch_close_and_commit(client=chain)
    assert run.committed == [1]
    for user, fee in fees.items():
        assert chain.vault_balance(account_id_bytes(user.vault_account)) == 5 * OPEN - fee


def test_an_epoch_with_a_receipt_nobody_paid_for_is_not_committed_and_says_why(chain, base_model, payer):
    """A receipt written without a charge (an answer served unpaid) must not be paid out by anyone."""
    paid_answer(published=base_model, user=payer, tokens_in=100, tokens_out=100)
    unpaid = receipt_record(published=base_model, tokens_in=500, tokens_out=500, user=payer)

    run = epoch_close_and_commit(client=chain)
    later = epoch_close_and_commit(client=chain)

    assert (run.closed, run.committed, run.queued) == (1, [], [1])
    assert "EpochNotFunded" in run.error
    assert str(unpaid.receipt_id) in run.error
    assert Epoch.objects.get(number=1).last_error.startswith("EpochNotFunded")
    assert Epoch.objects.get(number=1).status == Epoch.Status.OPEN, "refused before anything was marked"
    assert later.committed == []
    assert chain.last_committed_epoch() == 0


def test_an_epoch_charged_to_a_balance_that_was_never_deposited_on_chain_is_not_committed(chain, base_model):
    """A balance credited without a vault deposit (as tests/support/funding.py does) has nothing on chain
    behind it: the commit says so rather than pay from someone else's deposit."""
    phantom = make_user("phantom")
    fund(phantom)
    paid_answer(published=base_model, user=phantom, tokens_in=100, tokens_out=100)

    run = epoch_close_and_commit(client=chain)

    assert "never deposited into the vault" in run.error
    assert chain.last_committed_epoch() == 0


def test_the_vault_refuses_to_debit_more_than_an_account_holds_on_chain(chain, base_model):
    """Even with a vault account, a charge is paid only by what was really deposited into it."""
    phantom = make_user("phantom")
    vault_account_get_or_create(user=phantom)
    fund(phantom)  # credited off chain only
    paid_answer(published=base_model, user=phantom, tokens_in=100, tokens_out=100)

    run = epoch_close_and_commit(client=chain)

    assert "DebitExceedsBalance" in run.error
    assert chain.last_committed_epoch() == 0
    assert "DebitExceedsBalance" in Epoch.objects.get(number=1).last_error


def test_a_free_answer_is_paid_by_nobody_and_holds_no_epoch_up(chain, base_model, payer):
    from modelfactory.catalog.models import PublishedModel

    free = PublishedModel.objects.create(
        api_name="free-base",
        title="Free",
        kind=PublishedModel.Kind.BASE,
        base_model=base_model.base_model,
        owner=make_user("generous"),
        fee_rate_in=0,
        fee_rate_out=0,
        fee_platform=0,
    )
    paid_answer(published=free, user=payer, tokens_in=100, tokens_out=100)
    paid = paid_answer(published=base_model, user=payer, tokens_in=100, tokens_out=100)

    run = epoch_close_and_commit(client=chain)

    assert (run.committed, run.error) == ([1], "")
    assert chain.epoch(1).total == int(paid.fee)


def test_vault_funding_raises_for_an_unpaid_epoch_without_touching_the_chain(base_model, payer):
    receipt_record(published=base_model, tokens_in=10, tokens_out=10, user=payer)
    epoch = epoch_close()
    with pytest.raises(EpochNotFunded, match="charged 0 OPEN"):
        vault_funding(epoch)
