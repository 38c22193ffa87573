"""The attack: the demo's contributors are paid at anvil development accounts (datanets/demo_seeding.py),
whose private keys ship with every Foundry install. On a production site, handing those out, or paying an
account of them that a carried-over database or a user's signature names, gives the money to whoever
takes it first. Production refuses to hand them out, and holds such a person's earnings instead of paying
them, until they prove a wallet of their own.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from eth_account import Account
from eth_account.messages import encode_defunct

from contracts.development_accounts import development_address, development_addresses, development_key
from datanets.demo_seeding import DemoRefusedInProduction, demo_contributor_wallets_ensure, seed_demo_data
from datanets.seed import seed_contributors
from modelfactory.accounts.errors import DevelopmentAccountRefused
from modelfactory.accounts.models import User
from modelfactory.accounts.services import development_wallet_give, user_upsert
from modelfactory.catalog.models import PublishedModel
from modelfactory.ledger.models import Payout, PersonEarning
from modelfactory.ledger.payees import payout_wallet_of
from modelfactory.ledger.receipt_services import receipt_record
from modelfactory.ledger.services import (
    WalletVerificationFailed,
    epoch_close,
    wallet_challenge_create,
    wallet_verify,
)
from tests.finetuning.jobs_support import register_tiny

pytestmark = pytest.mark.django_db


def nobody_holds_a_development_account() -> bool:
    return not any(
        wallet.lower() in development_addresses()
        for wallet in User.objects.values_list("wallet_address", flat=True)
    )


def test_seeding_in_production_refuses_to_hand_out_development_accounts(settings):
    # The contributors as a database seeded before they had accounts holds them: generated, unproved.
    for seed in seed_contributors():
        user_upsert(username=seed.username, wallet_address=seed.wallet_address)
    settings.ENVIRONMENT = "production"

    with pytest.raises(DemoRefusedInProduction):
        seed_demo_data()
    with pytest.raises(DemoRefusedInProduction):
        demo_contributor_wallets_ensure()
    with pytest.raises(CommandError, match="refused when MODELFACTORY_ENV=production"):
        call_command("seed_demo", "--no-fine-tunes", stdout=StringIO())
    with pytest.raises(DevelopmentAccountRefused, match="keys are public"):
        development_wallet_give(user=User.objects.get(username=seed_contributors()[0].username), index=10)

    assert nobody_holds_a_development_account()
    assert not User.objects.filter(wallet_verified=True).exists()


def test_production_holds_what_a_development_account_would_be_paid_and_refuses_to_verify_one(
    settings, use_tiny_base_model
):
    register_tiny(use_tiny_base_model)
    developer = user_upsert(username="carried_over")
    assert development_wallet_give(user=developer, index=12)  # given in development, database kept
    PublishedModel.objects.create(
        api_name="carried-over",
        title="Carried over",
        kind=PublishedModel.Kind.ADAPTER,
        base_model=PublishedModel.objects.get(api_name="tiny-base").base_model,
        owner=developer,
        adapter_path="/adapters/carried-over",
    )
    settings.ENVIRONMENT = "production"

    receipt_record(
        published=PublishedModel.objects.get(api_name="carried-over"), tokens_in=500, tokens_out=500
    )
    epoch_close()

    assert payout_wallet_of(developer) is None
    assert not Payout.objects.filter(account__iexact=development_address(12)).exists()
    assert PersonEarning.objects.get(user=developer, paid_in__isnull=True).amount > 0, "held for them"

    signer = Account.from_key(development_key(3))
    challenge = wallet_challenge_create(
        user=developer, address=signer.address, domain="testserver", uri="https://testserver/wallet/"
    )
    signature = signer.sign_message(encode_defunct(text=challenge.message)).signature.to_0x_hex()
    with pytest.raises(WalletVerificationFailed, match="development accounts, whose key is public"):
        wallet_verify(user=developer, nonce=challenge.nonce, signature=signature)


def test_production_refuses_the_demo_contributors_development_accounts_as_its_wallets_and_keys():
    from tests.security.test_production_refuses_development_wallets import refusal

    assert "anvil's development accounts" in refusal(MODELFACTORY_PLATFORM_WALLET=development_address(40))
    assert "CHAIN_OPERATOR_KEY" in refusal(CHAIN_OPERATOR_KEY=development_key(63))
