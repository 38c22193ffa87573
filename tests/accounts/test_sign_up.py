"""Sign-up: a person creates an account with a safe password and is logged in; scripts are throttled."""

from __future__ import annotations

import pytest

from modelfactory.accounts.models import User
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "lantern-harbor-cedar-42"


def sign_up(
    client, *, username="ada", email="ada@example.org", password=GOOD_PASSWORD, next_url="", ip="127.0.0.1"
):
    form = {"username": username, "email": email, "password": password, "password_again": password}
    return client.post("/accounts/signup/", {**form, "next": next_url}, REMOTE_ADDR=ip)


def test_the_header_offers_sign_up_and_log_in_to_anonymous_visitors(client):
    header = client.get("/").content.decode()

    assert 'href="/accounts/signup/"' in header
    assert 'href="/accounts/login/"' in header


def test_sign_up_creates_the_user_logs_them_in_and_shows_their_profile(client):
    response = sign_up(client)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/profile/"
    user = User.objects.get(username="ada")
    assert user.email == "ada@example.org"
    assert user.check_password(GOOD_PASSWORD)
    assert user.wallet_address.startswith("0x")
    assert not user.wallet_verified
    profile = client.get("/accounts/profile/")
    assert profile.status_code == 200
    assert profile.wsgi_request.user == user


def test_sign_up_goes_back_to_the_page_that_asked_for_an_account_but_never_off_site(client):
    assert sign_up(client, username="ada", next_url="/datanets/")["Location"] == "/datanets/"
    client.logout()

    response = sign_up(client, username="bram", email="bram@example.org", next_url="https://evil.example/")

    assert response["Location"] == "/accounts/profile/"


@pytest.mark.parametrize(
    ("password", "validator_message"),
    [
        ("password123", "This password is too common."),
        ("short", "This password is too short. It must contain at least 8 characters."),
        ("83920571946", "This password is entirely numeric."),
        ("ada-lovelace", "The password is too similar to the username."),
    ],
)
def test_sign_up_rejects_a_weak_password_with_the_validators_message_and_creates_no_user(
    client, password, validator_message
):
    response = sign_up(client, username="ada-lovelace", password=password)

    assert response.status_code == 400
    assert validator_message in response.content.decode()
    assert not User.objects.filter(username="ada-lovelace").exists()
    assert "_auth_user_id" not in client.session


def test_sign_up_refuses_a_username_taken_in_any_case_and_creates_no_second_user(client):
    make_user("ada")

    response = sign_up(client, username="ADA", email="other@example.org")

    assert response.status_code == 400
    assert "That username is taken" in response.content.decode()
    assert User.objects.filter(username__iexact="ada").count() == 1


def test_sign_up_refuses_an_email_that_already_has_an_account(client):
    User.objects.create_user(username="first", email="ada@example.org", password=GOOD_PASSWORD)

    response = sign_up(client, username="second", email="Ada@Example.org")

    assert response.status_code == 400
    assert "An account with this email exists" in response.content.decode()
    assert not User.objects.filter(username="second").exists()


def test_sign_up_refuses_two_different_passwords(client):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "ada",
            "email": "a@example.org",
            "password": GOOD_PASSWORD,
            "password_again": "x" + GOOD_PASSWORD,
        },
    )

    assert response.status_code == 400
    assert "The two passwords differ" in response.content.decode()
    assert not User.objects.filter(username="ada").exists()


def test_sign_up_is_refused_after_the_hourly_attempts_from_one_address_and_creates_no_user(client, settings):
    settings.MODELFACTORY_SIGNUP_ATTEMPTS_PER_HOUR = 3
    for attempt in range(3):  # refused and accepted forms both count
        sign_up(client, username=f"bot{attempt}", password="password", ip="203.0.113.7")

    response = sign_up(client, username="bot-real", ip="203.0.113.7")

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many sign-up attempts from your network (3 an hour)" in response.content.decode()
    assert not User.objects.filter(username="bot-real").exists()


def test_the_sign_up_throttle_counts_each_address_on_its_own(client, settings):
    settings.MODELFACTORY_SIGNUP_ATTEMPTS_PER_HOUR = 1
    sign_up(client, username="first", password="password", ip="203.0.113.7")

    response = sign_up(client, username="neighbour", ip="198.51.100.9")

    assert response.status_code == 302
    assert User.objects.filter(username="neighbour").exists()


def test_logging_out_is_a_post_and_ends_the_session(client):
    user = make_user(password=GOOD_PASSWORD)
    assert (
        client.post("/accounts/login/", {"username": user.username, "password": GOOD_PASSWORD}).status_code
        == 302
    )

    assert client.get("/accounts/logout/").status_code == 405
    assert client.post("/accounts/logout/").status_code == 302
    assert "_auth_user_id" not in client.session
