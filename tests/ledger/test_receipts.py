"""A receipt traces an answer to its adapters, datanets and contributors, and splits its fee exactly."""

from __future__ import annotations

import math

import pytest

from datanets.models import Row
from modelfactory.catalog.models import PublishedModel
from modelfactory.catalog.services import model_publish_from_job
from modelfactory.finetuning.models import FineTuneJob
from modelfactory.ledger.receipt_services import receipt_record
from tests.finetuning.jobs_support import train_tiny_job
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(client, use_tiny_base_model):
    owner = make_user("receipt_owner")
    job = train_tiny_job(client, owner, use_tiny_base_model, max_steps=2)
    return model_publish_from_job(
        job=FineTuneJob.objects.get(pk=job.pk), user=owner, api_name="sums", title="Sums"
    )


def test_contributors_are_weighted_by_their_share_of_the_training_rows(published):
    receipt = receipt_record(published=published, tokens_in=120, tokens_out=30)

    trained = published.job.manifest["training_row_ids"]
    wallets = list(Row.objects.filter(pk__in=trained).values_list("wallet_address", flat=True))
    weights = receipt.attribution["contributors"]
    assert math.isclose(sum(weights.values()), 1.0)
    for wallet, weight in weights.items():
        assert math.isclose(weight, wallets.count(wallet) / len(wallets))
    assert receipt.datanet_versions[0]["merkle_root"] == published.job.manifest["datanets"][0]["merkle_root"]


def test_the_fee_split_adds_up_to_the_fee_exactly(published):
    receipt = receipt_record(published=published, tokens_in=1234, tokens_out=567)

    assert receipt.fee > 0
    assert sum(receipt.split["by_account"].values()) == receipt.fee
    assert sum(receipt.split["roles"].values()) == receipt.fee


def test_a_base_model_answer_pays_no_contributors(published):
    base = PublishedModel.objects.get(kind=PublishedModel.Kind.BASE)

    receipt = receipt_record(published=base, tokens_in=100, tokens_out=100)

    assert receipt.attribution["contributors"] == {}
    assert receipt.split["roles"]["contributors"] == 0


def test_a_model_with_its_own_rates_is_charged_by_them(published, settings):
    published.fee_rate_in, published.fee_rate_out, published.fee_platform = 5000, 7000, 3
    published.save()

    receipt = receipt_record(published=published, tokens_in=2000, tokens_out=1000)

    assert receipt.fee == 2000 * 5000 // 1000 + 1000 * 7000 // 1000 + 3
