"""API keys: created and shown once on the account page, stored only as a hash, revocable, rate-limited."""

from __future__ import annotations

import hashlib

import pytest

from modelfactory.api.errors import InvalidApiKey, RateLimited
from modelfactory.api.models import ApiKey, ApiRequest
from modelfactory.api.services import api_key_create, api_request_admit
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db


def test_a_new_key_is_shown_once_and_only_its_hash_is_stored(client):
    user = make_user("keyholder")
    client.force_login(user)

    created = client.post("/account/api-keys/new", {"name": "notebook"})
    listed = client.get("/account/api-keys/")

    key = ApiKey.objects.get(user=user)
    secret = created.context["secret"]
    assert secret in created.content.decode()
    assert key.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(ApiKey.objects.values().get())
    assert secret not in listed.content.decode()
    assert key.prefix in listed.content.decode()
    assert "notebook" in listed.content.decode()


def test_the_key_page_has_an_empty_state_and_needs_a_login(client):
    assert client.get("/account/api-keys/").status_code == 302
    client.force_login(make_user())

    page = client.get("/account/api-keys/").content.decode()

    assert "No API keys yet" in page


def test_revoking_a_key_from_the_page_refuses_it_and_only_the_owner_can(client):
    owner, other = make_user("owner"), make_user("other")
    key, secret = api_key_create(user=owner, name="ci")

    client.force_login(other)
    assert client.post(f"/account/api-keys/{key.pk}/revoke").status_code == 404
    client.force_login(owner)
    page = client.post(f"/account/api-keys/{key.pk}/revoke", follow=True).content.decode()

    assert "revoked" in page
    with pytest.raises(InvalidApiKey, match="revoked"):
        api_request_admit(secret=secret)


def test_the_rate_limit_is_a_sliding_minute_counted_in_the_database():
    key, secret = api_key_create(user=make_user(), name="tight", rate_limit_per_minute=3)

    for _ in range(3):
        api_request_admit(secret=secret)
    with pytest.raises(RateLimited):
        api_request_admit(secret=secret)
    ApiRequest.objects.filter(key=key).update(at=ApiRequest.objects.first().at.replace(year=2000))

    assert api_request_admit(secret=secret).last_used is not None
    assert ApiRequest.objects.filter(key=key).count() == 1


def test_the_shell_command_creates_a_key_with_its_own_rate_limit(capsys):
    from django.core.management import call_command

    user = make_user("operator")

    call_command("api_key_create", "operator", "load test", "--rate-limit", "100000")

    key = api_request_admit(secret=capsys.readouterr().out.strip())
    assert (key.user, key.rate_limit_per_minute) == (user, 100_000)
