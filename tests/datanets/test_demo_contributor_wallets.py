"""The demo's contributors are paid at anvil development accounts the server holds the keys of.

Seeding gives each seed contributor, in roster order, anvil's account 10, 11, ... as a verified wallet
(the way wallet verification records one), so in `make run` what the demo's answers earn them is paid into
epochs and claimed from /earnings/, instead of being held for a generated address nobody holds a key to.
"""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from contracts.development_accounts import (
    DEVELOPMENT_ACCOUNT_COUNT,
    FIRST_CONTRIBUTOR_ACCOUNT,
    development_address,
    development_index_of,
    development_key,
)
from datanets.demo_seeding import DEMO_USERNAME, demo_contributor_wallets_ensure, seed_demo_data
from datanets.seed import seed_contributors
from modelfactory.accounts.models import User
from modelfactory.ledger.chain import development_key_for
from modelfactory.ledger.payees import payout_wallet_of
from modelfactory.ledger.services import wallet_challenge_create, wallet_verify

pytestmark = pytest.mark.django_db


def contributors() -> list[User]:
    return [User.objects.get(username=seed.username) for seed in seed_contributors()]


def prove_wallet(user, account) -> None:
    """Sign-In with Ethereum, signed with the wallet's own key, as the wallet page does it."""
    challenge = wallet_challenge_create(
        user=user, address=account.address, domain="testserver", uri="http://testserver/wallet/"
    )
    signature = account.sign_message(encode_defunct(text=challenge.message)).signature.to_0x_hex()
    wallet_verify(user=user, nonce=challenge.nonce, signature=signature)


def test_each_seed_contributor_is_paid_at_a_development_account_the_server_holds_the_key_of(
    use_tiny_base_model,
):
    summary = seed_demo_data()

    people = contributors()
    assert FIRST_CONTRIBUTOR_ACCOUNT + len(people) <= DEVELOPMENT_ACCOUNT_COUNT, "anvil funds them all"
    assert summary.development_wallets == len(people) == 40
    for position, user in enumerate(people):
        index = FIRST_CONTRIBUTOR_ACCOUNT + position
        assert (user.wallet_address, user.wallet_verified) == (development_address(index), True)
        assert payout_wallet_of(user) == development_address(index), "paid into epochs, not held"
        assert development_key_for(user.wallet_address) == development_key(index), "the server can claim"
    demo = User.objects.get(username=DEMO_USERNAME)
    assert development_index_of(demo.wallet_address) is None, "only the contributors are given one"


def test_reseeding_keeps_every_contributors_account_and_a_wallet_one_proved_for_themselves(
    use_tiny_base_model,
):
    seed_demo_data()
    first, second = contributors()[:2]
    own = Account.create()
    prove_wallet(first, own)
    # A database seeded before contributors had accounts: a generated address nobody proved.
    User.objects.filter(pk=second.pk).update(wallet_address="0x" + "ab" * 20, wallet_verified=False)

    seed_demo_data()  # `make run` seeds on every start
    seed_demo_data()

    people = contributors()
    assert (people[0].wallet_address, people[0].wallet_verified) == (own.address, True)
    assert payout_wallet_of(people[0]) == own.address
    assert (people[1].wallet_address, people[1].wallet_verified) == (development_address(11), True)
    assert [user.wallet_address for user in people[2:]] == [
        development_address(FIRST_CONTRIBUTOR_ACCOUNT + position) for position in range(2, len(people))
    ]
    holders = User.objects.filter(wallet_address__iexact=development_address(10))
    assert not holders.exists(), "the account the first contributor left goes to nobody else"


def test_an_account_someone_else_here_proved_is_not_handed_to_a_contributor(use_tiny_base_model):
    seed_demo_data()
    first = contributors()[0]
    User.objects.filter(pk=first.pk).update(wallet_address="0x" + "cd" * 20, wallet_verified=False)
    someone = User.objects.create_user(username="someone", password="pw")
    prove_wallet(someone, Account.from_key(development_key(10)))

    assert demo_contributor_wallets_ensure() == len(contributors()) - 1

    first.refresh_from_db()
    assert (first.wallet_address, first.wallet_verified) == ("0x" + "cd" * 20, False)
    assert payout_wallet_of(first) is None, "held until they prove a wallet, never paid to someone else"
