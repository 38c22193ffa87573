"""Reads on users: how a person is shown, and where their earnings go."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from contracts.development_accounts import development_index_of
from modelfactory.accounts.models import User


def display_name_of(user: User) -> str:
    """The name to show for a person: the one they chose, else their username.

    Every page that names contributors goes through here, so a display name chosen on the profile
    shows everywhere at once.
    """
    return user.display_name.strip() or user.username


def user_named(username: str) -> User | None:
    """The account with this username, for an owner granting a model to a person by name."""
    return User.objects.filter(username=username).first()


class WalletState(StrEnum):
    VERIFIED = "verified"  # proved by signing a message (ledger's Sign-In with Ethereum)
    UNVERIFIED = "unverified"  # an address nobody proved, e.g. the development one every account starts with
    NONE = "none"  # no address: nothing can be paid out


@dataclass(frozen=True)
class WalletStatus:
    state: WalletState
    address: str
    development_account: int | None = None
    """Which of anvil's development accounts the address is (the demo's contributors are given one), else
    None: its key is public and held by the server, which claims for it on the local chain."""

    @property
    def is_linked(self) -> bool:
        return self.state is not WalletState.NONE


def wallet_status_of(user: User) -> WalletStatus:
    """Whether earnings can reach this person, for the profile page; linking lives at ledger:wallet."""
    if not user.wallet_address:
        return WalletStatus(WalletState.NONE, "")
    state = WalletState.VERIFIED if user.wallet_verified else WalletState.UNVERIFIED
    return WalletStatus(state, user.wallet_address, development_index_of(user.wallet_address))
