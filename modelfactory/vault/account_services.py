"""Vault accounts: the random 32-byte id under which the PaymentVault keeps a user's prepaid balance."""

from __future__ import annotations

import secrets

from django.db import IntegrityError, transaction
from hexbytes import HexBytes

from modelfactory.vault.models import VaultAccount


def vault_account_get_or_create(*, user) -> VaultAccount:
    """The user's vault account, created with a fresh random id the first time it is needed (the wallet
    page, a demo deposit). Safe against two first requests at once: the one-to-one constraint picks one."""
    existing = VaultAccount.objects.filter(user_id=user.pk).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return VaultAccount.objects.create(
                user_id=user.pk, account_id=HexBytes(secrets.token_bytes(32)).to_0x_hex()
            )
    except IntegrityError:
        return VaultAccount.objects.get(user_id=user.pk)


def account_id_bytes(account: VaultAccount) -> bytes:
    """The id as the contract takes it (bytes32)."""
    return bytes(HexBytes(account.account_id))


def vault_account_owner(account_id: bytes):
    """The user whose vault account this is, or None when it is nobody's."""
    found = (
        VaultAccount.objects.select_related("user")
        .filter(account_id=HexBytes(account_id).to_0x_hex())
        .first()
    )
    return found.user if found else None
