"""Writes on users: signing up, profiles, creating accounts for seeding, and giving them wallets."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from eth_utils import keccak, to_checksum_address

from contracts.development_accounts import development_address
from modelfactory.accounts.errors import DevelopmentAccountRefused
from modelfactory.accounts.models import User
from modelfactory.accounts.throttle_services import sign_up_throttle


def development_wallet_for(username: str) -> str:
    """A deterministic address for development accounts that have not proved a real wallet."""
    return to_checksum_address(keccak(text=f"modelfactory-dev-wallet:{username}")[-20:])


def user_upsert(
    *,
    username: str,
    display_name: str = "",
    wallet_address: str = "",
    password: str | None = None,
    initial_password_hash: str | None = None,
    is_staff: bool = False,
) -> User:
    """Create the user or bring an existing one up to date; seeding calls this repeatedly.

    `wallet_address` replaces an address nobody proved, never a verified one. `password` is enforced on
    every call (the demo login must always work). `initial_password_hash`
    (from `make_password`) is set only while the account has no usable password, so a password its owner
    changed survives re-seeding; it is a hash so that seeding forty accounts hashes once, not forty times.
    """
    user, _created = User.objects.get_or_create(username=username)
    user.display_name = display_name or user.display_name
    if not user.wallet_verified:  # a wallet the person proved stays theirs, whatever seeding proposes
        user.wallet_address = wallet_address or user.wallet_address or development_wallet_for(username)
    user.is_staff = user.is_staff or is_staff
    if password is not None and not user.check_password(password):
        user.set_password(password)
    elif initial_password_hash is not None and (not user.password or not user.has_usable_password()):
        user.password = initial_password_hash  # a new user's empty password counts as "usable" to Django
    elif password is None and not user.password:
        user.set_unusable_password()
    user.full_clean()
    user.save()
    return user


def development_wallet_give(*, user: User, index: int) -> bool:
    """Development only: anvil's development account `index` becomes the user's verified wallet.

    Recorded as wallet verification records a proved wallet (`wallet_address`, `wallet_verified`), and
    the server does hold its key (contracts/development_accounts.py), so the person's earnings are paid
    into epochs and the development claim path claims them. Not given to someone who proved another wallet
    (theirs stays), nor when someone else here holds that address already; True when the user has it.
    Refused in production, where every one of these keys is public.
    """
    if settings.ENVIRONMENT == "production":
        raise DevelopmentAccountRefused(
            "anvil's development accounts are not handed out when MODELFACTORY_ENV=production: their "
            "private keys are public, so anything paid to them belongs to whoever takes it first"
        )
    address = development_address(index)
    if user.wallet_verified:
        return user.wallet_address.lower() == address.lower()
    if User.objects.filter(wallet_address__iexact=address).exclude(pk=user.pk).exists():
        return False
    user.wallet_address, user.wallet_verified = address, True
    user.save(update_fields=["wallet_address", "wallet_verified"])
    return True


def sign_up_attempt_admit(*, ip: str) -> None:
    """Count one sign-up form from `ip`, or raise `Throttled` when the address used up its hourly allowance.

    Every form counts, accepted or not: guessing which usernames and emails exist costs attempts too.
    Two forms racing from one address may both slip in; a throttle against scripts can afford that,
    unlike the per-person request limit, which locks its user.
    """
    throttle = sign_up_throttle()
    throttle.admit(
        ip,
        refusal=f"Too many sign-up attempts from your network ({throttle.limit} an hour). "
        "Log in if you have an account.",
    )


@transaction.atomic
def user_sign_up(*, username: str, email: str, password: str) -> User:
    """Create a person's account, or raise ValidationError naming every field that is wrong at once.

    Usernames and emails are unique regardless of case, so "Ada" cannot impersonate "ada" and a reset
    mail has one recipient. The password goes through AUTH_PASSWORD_VALIDATORS with the new user, so
    "too similar to the username" is caught too. Like every account, it starts with a development wallet
    (rows and receipts always have an address to credit) until its owner proves a real one.
    """
    username = username.strip()
    email = User.objects.normalize_email(email.strip())
    errors: dict[str, list[str]] = {}
    if User.objects.filter(username__iexact=username).exists():
        errors["username"] = ["That username is taken: choose another, or log in if it is yours."]
    if email and User.objects.filter(email__iexact=email).exists():
        errors["email"] = ["An account with this email exists: log in, or reset its password."]
    user = User(username=username, email=email, wallet_address=development_wallet_for(username))
    try:
        validate_password(password, user=user)
    except ValidationError as error:
        errors["password"] = error.messages
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    user.full_clean()
    user.save()
    return user


def user_profile_update(*, user: User, display_name: str) -> User:
    """Save what the person chose to be called; blank means "show my username"."""
    user.display_name = display_name.strip()
    user.full_clean()
    user.save(update_fields=["display_name"])
    return user
