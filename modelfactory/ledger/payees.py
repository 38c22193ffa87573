"""Who a receipt pays: a person here, by account key, until settlement finds the wallet to pay them at.

Earnings belong to the person, not to an address. A receipt therefore owes a person under the key
``person:<user id>``, whatever wallet they have (none, a generated development one, a proven one),
and only the epoch that settles it turns the key into a wallet: the one the person proved by signing,
at that moment (`payout_wallet_of`). A person with no such wallet yet has their share held for them and
paid into the first epoch after they prove one. Parties that are not people (the platform, the
compute operator, the base model's owner) are owed at their configured addresses, as before.
"""

from __future__ import annotations

from django.conf import settings

from contracts.development_accounts import development_index_of

PERSON_PREFIX = "person:"


def person_key(user_id: int) -> str:
    """The account key a receipt owes a person under."""
    return f"{PERSON_PREFIX}{int(user_id)}"


def person_of(key: str) -> int | None:
    """The user id behind a person key; None for an address (a party that is not a person here)."""
    if not key.startswith(PERSON_PREFIX):
        return None
    number = key[len(PERSON_PREFIX) :]
    return int(number) if number.isdigit() else None


def payout_wallet_of(user) -> str | None:
    """The wallet a person's earnings may be paid to now, or None while they must be held.

    A wallet the person proved by signing (Sign-In with Ethereum). Outside production, also one of
    anvil's development accounts (the demo's seed contributors are given one each): the server holds its
    key, so a claim reaches someone. In production never one of those, even proved: their keys are
    public. Never a generated address (every account starts with one that nobody holds a key to) and
    never an empty one: paying those would send the person's money where no one can ever claim it.
    """
    address = (user.wallet_address or "").strip()
    if not address:
        return None
    development = development_index_of(address) is not None
    if settings.ENVIRONMENT == "production":
        # Proved or not, an anvil account's key is public: on a real chain bots take what it is paid.
        return address if user.wallet_verified and not development else None
    if user.wallet_verified or development:
        return address
    return None
