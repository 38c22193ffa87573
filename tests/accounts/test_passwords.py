"""Passwords: changed by their owner, reset by email through a link that works once."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from modelfactory.accounts.models import User

pytestmark = pytest.mark.django_db

OLD = "lantern-harbor-cedar-42"
NEW = "quartz-meadow-ember-17"


@pytest.fixture
def ada() -> User:
    return User.objects.create_user(username="ada", email="ada@example.org", password=OLD)


def test_a_logged_in_user_changes_their_password_and_stays_logged_in(client, ada):
    client.force_login(ada)

    response = client.post(
        "/accounts/password/change/",
        {"old_password": OLD, "new_password1": NEW, "new_password2": NEW},
    )

    assert response["Location"] == "/accounts/password/change/done/"
    ada.refresh_from_db()
    assert ada.check_password(NEW)
    assert client.get("/accounts/profile/").status_code == 200


def test_changing_the_password_needs_the_current_one_and_a_strong_new_one(client, ada):
    client.force_login(ada)

    wrong_old = client.post(
        "/accounts/password/change/", {"old_password": "nope", "new_password1": NEW, "new_password2": NEW}
    )
    weak_new = client.post(
        "/accounts/password/change/",
        {"old_password": OLD, "new_password1": "password", "new_password2": "password"},
    )

    assert "Your old password was entered incorrectly" in wrong_old.content.decode()
    assert "This password is too common." in weak_new.content.decode()
    ada.refresh_from_db()
    assert ada.check_password(OLD)


def test_a_reset_mails_a_link_that_sets_a_new_password_once(client, ada):
    response = client.post("/accounts/password/reset/", {"email": "ada@example.org"})

    assert response["Location"] == "/accounts/password/reset/sent/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ada@example.org"]
    assert message.subject == "Reset your ModelFactory password"
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", message.body).group(1)

    form_page = client.get(link, follow=True)  # Django swaps the token for a session and redirects
    assert "Choose a new password" in form_page.content.decode()
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": NEW, "new_password2": NEW})

    assert done["Location"] == "/accounts/password/reset/complete/"
    ada.refresh_from_db()
    assert ada.check_password(NEW)
    assert "This link does not work any more" in client.get(link, follow=True).content.decode()


def test_a_reset_for_an_unknown_email_sends_nothing_and_says_the_same(client, ada):
    response = client.post("/accounts/password/reset/", {"email": "nobody@example.org"})

    assert response["Location"] == "/accounts/password/reset/sent/"
    assert mail.outbox == []
