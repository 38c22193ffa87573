"""Writes on users: creating accounts and giving them wallets."""

from __future__ import annotations

from eth_utils import keccak, to_checksum_address

from modelfactory.accounts.models import User


def development_wallet_for(username: str) -> str:
    """A deterministic address for development accounts that have not proved a real wallet."""
    return to_checksum_address(keccak(text=f"modelfactory-dev-wallet:{username}")[-20:])


def user_upsert(
    *,
    username: str,
    display_name: str = "",
    wallet_address: str = "",
    password: str | None = None,
    is_staff: bool = False,
) -> User:
    """Create the user or bring an existing one up to date; seeding calls this repeatedly."""
    user, _created = User.objects.get_or_create(username=username)
    user.display_name = display_name or user.display_name
    user.wallet_address = wallet_address or user.wallet_address or development_wallet_for(username)
    user.is_staff = user.is_staff or is_staff
    if password is not None and not user.check_password(password):
        user.set_password(password)
    elif password is None and not user.password:
        user.set_unusable_password()
    user.full_clean()
    user.save()
    return user
