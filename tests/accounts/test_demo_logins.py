"""The demo's contributors can log in with the password documented in README's "Demo accounts"."""

from __future__ import annotations

import pytest

from datanets.demo_seeding import DEMO_CONTRIBUTOR_PASSWORD, seed_demo_data
from datanets.seed import seed_contributors
from modelfactory.accounts.models import User

pytestmark = pytest.mark.django_db


def test_a_seed_contributor_logs_in_with_the_documented_demo_password_and_keeps_a_changed_one(
    client, use_tiny_base_model
):
    seed_demo_data()
    first, second = seed_contributors()[:2]

    assert client.login(username=first.username, password=DEMO_CONTRIBUTOR_PASSWORD)
    assert client.login(username=second.username, password="demo")

    changed = User.objects.get(username=first.username)
    changed.set_password("my-own-secret-phrase")
    changed.save()
    seed_demo_data()  # `make run` seeds again on every start

    assert client.login(username=first.username, password="my-own-secret-phrase")
    assert not client.login(username=first.username, password=DEMO_CONTRIBUTOR_PASSWORD)
