"""Sign-In with Ethereum: a signature by the claimed address verifies the wallet, nothing else does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from modelfactory.ledger.models import WalletChallenge
from modelfactory.ledger.services import WalletVerificationFailed, wallet_challenge_create, wallet_verify
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db

ALICE = Account.create()
MALLORY = Account.create()


def sign(challenge: WalletChallenge, account) -> str:
    return account.sign_message(encode_defunct(text=challenge.message)).signature.to_0x_hex()


def challenge_for(user, address: str) -> WalletChallenge:
    return wallet_challenge_create(
        user=user, address=address, domain="testserver", uri="http://testserver/wallet/"
    )


def test_the_message_follows_eip_4361():
    user = make_user()
    challenge = challenge_for(user, ALICE.address.lower())

    lines = challenge.message.splitlines()
    assert lines[0] == "testserver wants you to sign in with your Ethereum account:"
    assert lines[1] == ALICE.address  # checksummed
    assert f"Nonce: {challenge.nonce}" in lines
    assert "Version: 1" in lines
    assert "Chain ID: 31337" in lines


def test_a_signature_by_the_address_verifies_the_wallet():
    user = make_user()
    assert not user.wallet_verified
    challenge = challenge_for(user, ALICE.address)

    wallet_verify(user=user, nonce=challenge.nonce, signature=sign(challenge, ALICE))

    user.refresh_from_db()
    assert (user.wallet_address, user.wallet_verified) == (ALICE.address, True)


def test_a_signature_by_another_address_is_refused():
    user = make_user()
    before = user.wallet_address
    challenge = challenge_for(user, ALICE.address)

    with pytest.raises(WalletVerificationFailed, match="signed by"):
        wallet_verify(user=user, nonce=challenge.nonce, signature=sign(challenge, MALLORY))

    user.refresh_from_db()
    assert (user.wallet_address, user.wallet_verified) == (before, False)


def test_a_replayed_nonce_is_refused():
    user = make_user()
    challenge = challenge_for(user, ALICE.address)
    signature = sign(challenge, ALICE)
    wallet_verify(user=user, nonce=challenge.nonce, signature=signature)

    with pytest.raises(WalletVerificationFailed, match="used already"):
        wallet_verify(user=user, nonce=challenge.nonce, signature=signature)


def test_another_users_nonce_an_expired_one_and_garbage_are_refused():
    owner, other = make_user(), make_user()
    challenge = challenge_for(owner, ALICE.address)
    with pytest.raises(WalletVerificationFailed, match="unknown nonce"):
        wallet_verify(user=other, nonce=challenge.nonce, signature=sign(challenge, ALICE))
    with pytest.raises(WalletVerificationFailed, match="not a valid signature"):
        wallet_verify(user=owner, nonce=challenge.nonce, signature="0x1234")
    WalletChallenge.objects.filter(pk=challenge.pk).update(
        expires_at=challenge.issued_at - timedelta(seconds=1)
    )
    with pytest.raises(WalletVerificationFailed, match="expired"):
        wallet_verify(user=owner, nonce=challenge.nonce, signature=sign(challenge, ALICE))


def test_the_wallet_pages_walk_challenge_then_verify(client):
    user = make_user()
    client.force_login(user)
    assert client.get("/wallet/").status_code == 200

    page = client.post("/wallet/challenge/", {"address": ALICE.address})

    assert page.status_code == 200
    challenge = WalletChallenge.objects.get(user=user)
    assert challenge.nonce in page.content.decode()
    response = client.post("/wallet/verify/", {"nonce": challenge.nonce, "signature": sign(challenge, ALICE)})
    assert response.status_code == 302
    assert response["Location"] == "/earnings/"
    user.refresh_from_db()
    assert user.wallet_verified
    assert user.wallet_address == ALICE.address

    replay = client.post("/wallet/verify/", {"nonce": challenge.nonce, "signature": sign(challenge, ALICE)})
    assert replay["Location"] == "/wallet/"
