"""A composite is reachable only by someone who may use every one of its parts, at every request.

The attack: someone granted an allow-listed adapter wraps it in a public composite, and keeps serving it
(and taking the parts' developer share) after the grant is revoked or the adapter unpublished. The parts
are checked for the caller when the composite is composed, when it is looked up to serve, and again when
the receipt is written; the developer's share goes to the parts' owners by merge weight.
"""

from __future__ import annotations

import pytest

from modelfactory.api.services import api_key_create
from modelfactory.catalog.models import PublishedModel
from modelfactory.catalog.selectors import ModelAccessDenied, model_for, models_usable_by
from modelfactory.catalog.services import (
    PublishRefused,
    composite_create,
    model_grant,
    model_revoke,
    model_unpublish,
)
from modelfactory.ledger.models import InferenceReceipt
from modelfactory.ledger.payees import person_key
from modelfactory.ledger.receipt_services import receipt_record
from tests.finetuning.jobs_support import register_tiny
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db


def adapter(owner, api_name: str, *, access: str) -> PublishedModel:
    """A published adapter row (these tests decide who may reach it; none of them generates)."""
    return PublishedModel.objects.create(
        api_name=api_name,
        title=api_name,
        kind=PublishedModel.Kind.ADAPTER,
        base_model=PublishedModel.objects.get(api_name="tiny-base").base_model,
        owner=owner,
        access=access,
        adapter_path=f"/adapters/{api_name}",
    )


@pytest.fixture
def world(use_tiny_base_model):
    """`owner`'s allow-listed adapter, granted to `grantee`, who wraps it with their own in a public
    composite; `stranger` was never granted anything."""
    register_tiny(use_tiny_base_model)
    owner, grantee, stranger = make_user("adapter_owner"), make_user("grantee"), make_user("stranger")
    private = adapter(owner, "private-skill", access=PublishedModel.Access.ALLOW_LIST)
    model_grant(published=private, owner=owner, user=grantee)
    adapter(grantee, "grantee-skill", access=PublishedModel.Access.PUBLIC)
    wrapped = composite_create(
        user=grantee,
        api_name="wrapped",
        title="Wrapped",
        parts=[("private-skill", 0.5), ("grantee-skill", 0.5)],
        access=PublishedModel.Access.PUBLIC,
    )
    return {"owner": owner, "grantee": grantee, "stranger": stranger, "private": private, "wrapped": wrapped}


def test_a_revoked_grantee_cannot_keep_serving_an_allow_listed_adapter_through_their_composite(world, client):
    grantee, wrapped = world["grantee"], world["wrapped"]
    assert model_for(grantee, "wrapped") == wrapped

    model_revoke(published=world["private"], owner=world["owner"], user=grantee)

    with pytest.raises(ModelAccessDenied, match="private-skill"):
        model_for(grantee, "wrapped")
    assert wrapped not in models_usable_by(grantee)
    with pytest.raises(ModelAccessDenied):
        receipt_record(published=wrapped, tokens_in=10, tokens_out=10, user=grantee)
    assert not InferenceReceipt.objects.exists()
    client.force_login(grantee)
    assert client.get("/models/wrapped/").status_code == 404


def test_a_public_composite_does_not_open_its_allow_listed_part_to_anyone_else(world, client):
    stranger, wrapped = world["stranger"], world["wrapped"]
    friend = make_user("friend")
    model_grant(published=world["private"], owner=world["owner"], user=friend)

    with pytest.raises(ModelAccessDenied):
        model_for(stranger, "wrapped")
    assert wrapped not in models_usable_by(stranger)
    assert wrapped not in models_usable_by(None)
    assert model_for(friend, "wrapped") == wrapped  # granted every part: the merge is theirs to use
    secret = api_key_create(user=stranger, name="probe")[1]
    listed = client.get("/v1/models", HTTP_AUTHORIZATION=f"Bearer {secret}").json()
    assert "wrapped" not in {model["id"] for model in listed["data"]}
    asked = client.post(
        "/v1/chat/completions",
        {"model": "wrapped", "messages": [{"role": "user", "content": "hi"}]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert asked.status_code in (403, 404)
    assert not InferenceReceipt.objects.exists()


def test_unpublishing_a_part_takes_every_composite_of_it_off_the_air(world):
    model_unpublish(published=world["private"], user=world["owner"])

    for person in (world["owner"], world["grantee"]):
        with pytest.raises(ModelAccessDenied, match="unpublished"):
            model_for(person, "wrapped")
        assert world["wrapped"] not in models_usable_by(person)


def test_a_part_revoked_after_the_request_was_admitted_gets_no_receipt(world):
    grantee = world["grantee"]
    admitted = model_for(grantee, "wrapped")

    model_revoke(published=world["private"], owner=world["owner"], user=grantee)

    with pytest.raises(ModelAccessDenied):
        receipt_record(published=admitted, tokens_in=40, tokens_out=60, user=grantee)
    assert not InferenceReceipt.objects.exists()


def test_nobody_can_compose_an_adapter_they_may_not_use(world):
    with pytest.raises(PublishRefused, match="private-skill"):
        composite_create(
            user=world["stranger"],
            api_name="stolen",
            title="Stolen",
            parts=[("private-skill", 1.0), ("grantee-skill", 1.0)],
        )
    assert not PublishedModel.objects.filter(api_name="stolen").exists()


def test_wrapping_adapters_in_a_composite_earns_the_wrapper_none_of_their_developer_share(world):
    owner, grantee = world["owner"], world["grantee"]
    wrapper = make_user("wrapper")
    model_grant(published=world["private"], owner=owner, user=wrapper)
    merged = composite_create(
        user=wrapper,
        api_name="merged",
        title="Merged",
        parts=[("private-skill", 3.0), ("grantee-skill", 1.0)],
    )

    receipt = receipt_record(published=merged, tokens_in=4000, tokens_out=4000, user=wrapper)

    developer = receipt.split["roles"]["developer"]
    assert developer > 0
    assert receipt.split["developers"] == {
        person_key(owner.pk): developer * 3 // 4,
        person_key(grantee.pk): developer // 4,
    }
    assert person_key(wrapper.pk) not in receipt.split["by_account"]
    assert sum(receipt.split["by_account"].values()) == receipt.fee
