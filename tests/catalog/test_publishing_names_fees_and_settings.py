"""Publishing proposes an API name from the job, takes fees in OPEN with decimals up to a bound, and lets
the owner alone change a published model's description, access and fees."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from modelfactory.catalog.models import PublishedModel
from modelfactory.catalog.services import PublishRefused, model_set_fees
from modelfactory.finetuning.models import FineTuneJob
from modelfactory.finetuning.services import job_create
from modelfactory.serving import engine_runtime
from tests.finetuning.jobs_support import FAST, register_tiny, sums_datanet, train_tiny_job
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db

OPEN = 10**18


@pytest.fixture
def owner(client):
    user = make_user("model_owner")
    client.force_login(user)
    return user


def queued_job(owner, tiny_base_model, *, name: str) -> FineTuneJob:
    """A job as the wizard launches it (not trained: naming it needs no adapter)."""
    _, version = sums_datanet(owner)
    base = register_tiny(tiny_base_model)
    spec = {**FAST, "max_steps": 2}
    return job_create(owner=owner, name=name, base_model=base, versions=[version], spec=spec)


def model_of(owner, tiny_base_model, *, api_name: str = "sum-bot", **fields) -> PublishedModel:
    """A published model of ``owner`` on the tiny base model."""
    base = register_tiny(tiny_base_model)
    return PublishedModel.objects.create(
        api_name=api_name,
        title=api_name,
        kind=PublishedModel.Kind.ADAPTER,
        base_model=base,
        owner=owner,
        **fields,
    )


def proposed_api_name(client, job) -> str:
    page = client.get(f"/models/publish/job/{job.pk}/").content.decode()
    return re.search(r'name="api_name" value="([^"]*)"', page).group(1)


def test_the_api_name_proposed_is_the_jobs_name_slugified(client, owner, use_tiny_base_model):
    job = queued_job(owner, use_tiny_base_model, name="Lumen Support Assistant (v2)!")

    assert proposed_api_name(client, job) == "lumen-support-assistant-v2"


def test_a_taken_api_name_is_not_proposed_the_next_free_one_is(client, owner, use_tiny_base_model):
    job = queued_job(owner, use_tiny_base_model, name="Sum bot")
    model_of(make_user(), use_tiny_base_model, api_name="sum-bot")
    model_of(make_user(), use_tiny_base_model, api_name="sum-bot-2")

    assert proposed_api_name(client, job) == "sum-bot-3"


def test_a_name_with_nothing_to_slugify_falls_back_to_the_base_model_and_job(
    client, owner, use_tiny_base_model
):
    job = queued_job(owner, use_tiny_base_model, name="★★★")

    assert proposed_api_name(client, job) == f"tiny-base-{job.pk}"


def test_fees_are_typed_in_open_with_decimals_and_stored_in_base_units(client, owner, use_tiny_base_model):
    job = train_tiny_job(client, owner, use_tiny_base_model)
    fields = {"api_name": "sum-bot", "title": "Sum bot", "description": "", "access": "public"}

    response = client.post(
        f"/models/publish/job/{job.pk}/",
        {**fields, "fee_rate_in": "0.0025", "fee_rate_out": "1.000000000000000001", "fee_platform": ""},
    )
    engine_runtime.shutdown()

    published = PublishedModel.objects.get(api_name="sum-bot")
    page = client.get("/models/sum-bot/").content.decode()
    assert response.status_code == 302
    assert published.fee_rate_in == Decimal(25 * 10**14)
    assert published.fee_rate_out == Decimal(OPEN + 1)
    assert published.fee_platform is None
    assert "0.0025 OPEN per 1,000 prompt tokens" in page
    assert re.search(r"0\.0001 OPEN per request <span[^>]*>\(platform default\)", page)


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("1000.5", "at most 1,000 OPEN"),
        ("0.0000000000000000001", "no more than 18 decimal places"),
        ("-1", "greater than or equal to 0"),
    ],
)
def test_a_fee_over_the_bound_or_finer_than_the_token_is_refused_on_the_form(
    client, owner, use_tiny_base_model, typed, says
):
    model = model_of(owner, use_tiny_base_model)

    response = client.post(
        f"/models/{model.api_name}/settings/", {"access": "public", "description": "", "fee_rate_in": typed}
    )

    assert response.status_code == 200
    assert says in response.content.decode()
    model.refresh_from_db()
    assert model.fee_rate_in is None


def test_a_fee_over_the_bound_is_refused_by_the_service_whoever_calls_it(
    owner, use_tiny_base_model, settings
):
    model = model_of(owner, use_tiny_base_model)

    with pytest.raises(PublishRefused, match="at most 1,000 OPEN"):
        model_set_fees(
            published=model,
            fee_rate_in=settings.MODELFACTORY_FEE_MAX + 1,
            fee_rate_out=None,
            fee_platform=None,
        )

    model.refresh_from_db()
    assert model.fee_rate_in is None


def test_the_owner_changes_description_access_and_fees_after_publishing(client, owner, use_tiny_base_model):
    model = model_of(owner, use_tiny_base_model, fee_rate_out=3 * OPEN)

    form = client.get("/models/sum-bot/settings/").content.decode()
    response = client.post(
        "/models/sum-bot/settings/",
        {
            "description": "Adds small numbers.",
            "access": "allow_list",
            "fee_rate_in": "0.5",
            "fee_rate_out": "",
        },
    )

    model.refresh_from_db()
    assert 'name="fee_rate_out" value="3"' in form  # base units shown as OPEN
    assert response.status_code == 302
    assert (model.description, model.access) == ("Adds small numbers.", "allow_list")
    assert (model.fee_rate_in, model.fee_rate_out) == (OPEN // 2, None)
    assert model.version == 1  # same weights, same name: nothing for the engine to reload


def test_nobody_but_the_owner_may_see_or_change_a_models_settings(client, owner, use_tiny_base_model):
    model = model_of(make_user("the_owner"), use_tiny_base_model, description="Mine.")
    page = client.get("/models/sum-bot/").content.decode()

    response = client.post(
        "/models/sum-bot/settings/", {"description": "Yours now.", "access": "public", "fee_rate_in": "999"}
    )

    assert client.get("/models/sum-bot/settings/").status_code == 404
    assert response.status_code == 404
    assert "/models/sum-bot/settings/" not in page
    model.refresh_from_db()
    assert (model.description, model.fee_rate_in) == ("Mine.", None)
