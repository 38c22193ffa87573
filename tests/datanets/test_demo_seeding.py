from __future__ import annotations

import pytest

from contracts.development_accounts import development_address
from datanets.demo_seeding import DEMO_USERNAME, seed_demo_data
from datanets.merkle import merkle_root
from datanets.models import Datanet, Row, Version
from datanets.seed import seed_contributors, seed_datanets
from modelfactory.accounts.models import User

pytestmark = pytest.mark.django_db


def test_seeding_loads_every_seed_datanet_with_its_contributors_and_a_first_version(use_tiny_base_model):
    summary = seed_demo_data()

    seeds = seed_datanets()
    assert Datanet.objects.count() == len(seeds) == summary.datanets
    assert Row.objects.filter(status=Row.Status.APPROVED).count() == sum(len(s.rows) for s in seeds)
    for seed in seeds:
        version = Version.objects.get(datanet__slug=seed.slug, number=1)
        assert version.row_count == len(seed.rows)
        hashes = list(version.rows.values_list("content_hash", flat=True))
        assert version.merkle_root == merkle_root(hashes)
        assert version.token_count > 0
    # Rows keep the wallet their contributor had when contributing: the development account seeding gave.
    wallets = {c.username: development_address(10 + i) for i, c in enumerate(seed_contributors())}
    for row in Row.objects.select_related("contributor")[:200]:
        assert row.wallet_address == wallets[row.contributor.username]


def test_seeding_twice_adds_nothing_and_publishes_no_new_version(use_tiny_base_model):
    seed_demo_data()
    rows, versions = Row.objects.count(), Version.objects.count()

    summary = seed_demo_data()

    assert summary.rows_added == 0
    assert summary.versions_published == 0
    assert (Row.objects.count(), Version.objects.count()) == (rows, versions)


def test_demo_login_works_after_seeding(client, use_tiny_base_model):
    seed_demo_data()

    assert User.objects.get(username=DEMO_USERNAME).wallet_address.startswith("0x")
    assert client.login(username="demo", password="demo")
