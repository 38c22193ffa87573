"""Permissioned datanets are usable only by their owner and approved users, through every door."""

from __future__ import annotations

import pytest

from datanets import selectors
from datanets.models import AccessRequest, Row
from datanets.services import access_request_create, access_request_decide, version_publish
from tests.support.factories import make_datanet, make_rows, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def private():
    owner = make_user("owner")
    datanet = make_datanet(owner=owner, slug="secret-recipes", title="Secret recipes", permissioned=True)
    make_rows(datanet, 3, prefix="secret")
    version_publish(datanet=datanet)
    return datanet


def _urls(slug: str) -> list[str]:
    return [
        f"/datanets/{slug}/",
        f"/datanets/{slug}/rows/",
        f"/datanets/{slug}/versions/",
        f"/datanets/{slug}/versions/1/export.jsonl",
    ]


def test_strangers_cannot_list_browse_read_or_export_a_permissioned_datanet(client, private):
    stranger = make_user("stranger")
    client.force_login(stranger)

    assert private not in selectors.datanets_usable_by(stranger)
    assert "Secret recipes" not in client.get("/datanets/").content.decode()
    for url in _urls(private.slug):
        response = client.get(url)
        assert response.status_code == 403, url
        assert b"secret question" not in b"".join(getattr(response, "streaming_content", [response.content]))


def test_anonymous_visitors_see_only_that_access_must_be_requested(client, private):
    response = client.get(f"/datanets/{private.slug}/")

    assert response.status_code == 403
    assert "Log in" in response.content.decode()
    assert "secret question" not in response.content.decode()


def test_an_approved_user_can_read_and_export_and_a_revoked_one_no_longer_can(client, private):
    reader = make_user("reader")
    client.force_login(reader)
    client.post(f"/datanets/{private.slug}/access/request/", {"message": "for my thesis"})
    request = AccessRequest.objects.get(user=reader, datanet=private)
    assert request.status == AccessRequest.Status.PENDING
    assert client.get(f"/datanets/{private.slug}/").status_code == 403

    access_request_decide(access_request=request, owner=private.owner, approve=True)

    for url in _urls(private.slug):
        assert client.get(url).status_code == 200, url
    assert "Secret recipes" in client.get("/datanets/").content.decode()

    access_request_decide(access_request=request, owner=private.owner, approve=False)
    assert client.get(f"/datanets/{private.slug}/").status_code == 403


def test_only_the_owner_reviews_publishes_and_decides_access(client, private):
    intruder = make_user("intruder")
    access_request_create(datanet=private, user=intruder)
    request = AccessRequest.objects.get(user=intruder)
    client.force_login(intruder)

    assert client.get(f"/datanets/{private.slug}/review/").status_code == 403
    assert client.post(f"/datanets/{private.slug}/versions/publish/").status_code == 403
    assert (
        client.post(
            f"/datanets/{private.slug}/access/{request.pk}/decide/", {"decision": "approve"}
        ).status_code
        == 403
    )
    request.refresh_from_db()
    assert request.status == AccessRequest.Status.PENDING
    assert private.versions.count() == 1


def test_public_datanets_are_usable_by_everyone(client):
    datanet = make_datanet(slug="open-data")
    make_rows(datanet, 2)

    assert client.get("/datanets/open-data/").status_code == 200
    assert "open-data" in client.get("/datanets/").content.decode()


def test_owner_bulk_rejection_needs_a_reason_the_contributor_then_sees(client):
    owner = make_user("curator")
    datanet = make_datanet(owner=owner)
    pending = make_rows(datanet, 3, status=Row.Status.PENDING, prefix="pending")
    client.force_login(owner)

    client.post(f"/datanets/{datanet.slug}/review/", {"row": [pending[0].pk], "decision": "reject"})
    assert Row.objects.get(pk=pending[0].pk).status == Row.Status.PENDING

    client.post(
        f"/datanets/{datanet.slug}/review/",
        {"row": [pending[0].pk, pending[1].pk], "decision": "reject", "reason": "off topic"},
    )
    client.post(f"/datanets/{datanet.slug}/review/", {"row": [pending[2].pk], "decision": "approve"})

    statuses = dict(Row.objects.filter(datanet=datanet).values_list("pk", "status"))
    assert statuses == {pending[0].pk: "rejected", pending[1].pk: "rejected", pending[2].pk: "approved"}
    assert Row.objects.get(pk=pending[0].pk).rejection_reason == "off topic"
