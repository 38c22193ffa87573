"""Billing fixtures: a published model to price answers with, receipts with a chosen fee, API clients."""

from __future__ import annotations

import pytest

from modelfactory.api.services import api_key_create
from modelfactory.catalog.models import PublishedModel
from modelfactory.ledger.models import InferenceReceipt
from modelfactory.serving import engine_runtime
from tests.finetuning.jobs_support import register_tiny
from tests.support.factories import make_user


@pytest.fixture(scope="module", autouse=True)
def _engine_stopped_after_the_module():
    yield
    engine_runtime.shutdown()


@pytest.fixture
def published(tiny_base_model) -> PublishedModel:
    """The tiny base model, published as itself at the platform's default rates."""
    register_tiny(tiny_base_model)
    return PublishedModel.objects.get(api_name="tiny-base")


@pytest.fixture
def served(use_tiny_base_model, published) -> PublishedModel:
    """`published`, and the process's engine serving the tiny model."""
    return published


@pytest.fixture
def free_model(published) -> PublishedModel:
    """A public model on the tiny base whose owner charges nothing: rates and platform fee all zero."""
    return PublishedModel.objects.create(
        api_name="free-tiny",
        title="Free tiny",
        kind=PublishedModel.Kind.BASE,
        base_model=published.base_model,
        owner=make_user(),
        fee_rate_in=0,
        fee_rate_out=0,
        fee_platform=0,
    )


@pytest.fixture
def receipt_with_fee(published):
    """A receipt of `user` with exactly `fee` (what `receipt_record` writes, without the attribution)."""

    def make(user, fee: int, *, tokens_out: int = 1) -> InferenceReceipt:
        return InferenceReceipt.objects.create(
            user=user,
            published_model=published,
            model_name=published.api_name,
            base_model=published.base_model.name,
            tokens_in=1,
            tokens_out=tokens_out,
            fee=fee,
        )

    return make


@pytest.fixture
def secret_of():
    """An API key's secret for `user`."""
    return lambda user: api_key_create(user=user, name="billing tests", rate_limit_per_minute=1000)[1]
