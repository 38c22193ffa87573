"""The profile: the display name a person is credited by, and whether their earnings can reach them."""

from __future__ import annotations

import pytest

from modelfactory.accounts.selectors import display_name_of
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db

OWN_WALLET = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def test_the_profile_asks_anonymous_visitors_to_log_in(client):
    response = client.get("/accounts/profile/")

    assert response["Location"] == "/accounts/login/?next=/accounts/profile/"


def test_a_new_account_sees_its_generated_wallet_as_unverified_with_a_link_to_verify(client):
    user = make_user("ada")
    client.force_login(user)

    page = client.get("/accounts/profile/").content.decode()

    assert user.wallet_address in page
    assert "not verified" in page
    assert 'href="/wallet/"' in page


def test_the_profile_shows_a_verified_wallet_as_where_earnings_are_paid(client):
    user = make_user("ada")
    user.wallet_address, user.wallet_verified = OWN_WALLET, True
    user.save()
    client.force_login(user)

    page = client.get("/accounts/profile/").content.decode()

    assert f"Earnings are paid to <code>{OWN_WALLET}</code>" in page
    assert "verified</span>" in page


def test_the_profile_says_no_wallet_linked_and_links_to_wallet_linking(client):
    user = make_user("ada")
    user.wallet_address = ""
    user.save()
    client.force_login(user)

    page = client.get("/accounts/profile/").content.decode()

    assert "No wallet linked" in page
    assert '<a href="/wallet/">Link a wallet</a>' in page


def test_saving_the_display_name_shows_it_in_the_header_and_to_other_pages(client):
    user = make_user("ada")
    client.force_login(user)

    response = client.post("/accounts/profile/", {"display_name": "  Ada Lovelace "})

    assert response["Location"] == "/accounts/profile/"
    user.refresh_from_db()
    assert display_name_of(user) == "Ada Lovelace"
    assert "Ada Lovelace" in client.get("/").content.decode()


def test_saving_the_display_name_with_htmx_swaps_only_its_form(client):
    user = make_user("ada")
    client.force_login(user)

    response = client.post("/accounts/profile/", {"display_name": "Ada L."}, HTTP_HX_REQUEST="true")

    fragment = response.content.decode()
    assert response.status_code == 200
    assert fragment.startswith('<form id="display-name"')
    assert "you are shown as <strong>Ada L.</strong>" in fragment
    assert "<html" not in fragment


def test_an_empty_display_name_falls_back_to_the_username(client):
    user = make_user("ada")
    user.display_name = "Ada"
    user.save()
    client.force_login(user)

    client.post("/accounts/profile/", {"display_name": ""})

    user.refresh_from_db()
    assert display_name_of(user) == "ada"


def test_a_display_name_too_long_is_refused_and_the_old_one_kept(client):
    user = make_user("ada")
    user.display_name = "Ada"
    user.save()
    client.force_login(user)

    response = client.post("/accounts/profile/", {"display_name": "x" * 121})

    assert response.status_code == 400
    assert "Ensure this value has at most 120 characters" in response.content.decode()
    user.refresh_from_db()
    assert user.display_name == "Ada"
