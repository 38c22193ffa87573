"""How the Django side gets a `ChainClient`: which node, which operator key, which deployment.

The key never comes from the repo outside development: `CHAIN_OPERATOR_KEY` (setting or environment) or
an encrypted keystore (`CHAIN_OPERATOR_KEYSTORE` + `CHAIN_OPERATOR_KEYSTORE_PASSWORD`); only when the
environment is not production does it fall back to anvil's first development account, which is public.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from django.conf import settings

from contracts.chain_client import ChainClient
from contracts.development_accounts import DEVELOPMENT_OPERATOR_KEY, development_key_of
from contracts.errors import ContractsNotDeployed


class OperatorKeyNotConfigured(Exception):
    """Production without CHAIN_OPERATOR_KEY or a keystore: settlement cannot sign."""


def _setting(name: str) -> str:
    return str(getattr(settings, name, "") or os.environ.get(name, ""))


def operator_key() -> str:
    """The settlement operator's private key, from the environment, a keystore or (development) anvil."""
    key = _setting("CHAIN_OPERATOR_KEY")
    if key:
        return key
    keystore = _setting("CHAIN_OPERATOR_KEYSTORE")
    if keystore:
        from eth_account import Account

        encrypted = json.loads(Path(keystore).read_text())
        return Account.decrypt(encrypted, _setting("CHAIN_OPERATOR_KEYSTORE_PASSWORD")).to_0x_hex()
    if getattr(settings, "ENVIRONMENT", "development") == "production":
        raise OperatorKeyNotConfigured("set CHAIN_OPERATOR_KEY or CHAIN_OPERATOR_KEYSTORE in production")
    return DEVELOPMENT_OPERATOR_KEY


def voucher_key() -> str:
    """The key that signs withdrawal vouchers: MODELFACTORY_VOUCHER_KEY, else the operator's.

    A key of its own lets the public web process sign vouchers (the only thing it signs) without the
    operator key, which commits epochs and administers the contracts; `deploy_contracts` grants it the
    vault's SIGNER_ROLE.
    """
    return _setting("MODELFACTORY_VOUCHER_KEY") or operator_key()


def voucher_client(*, timeout_s: float = 3.0) -> ChainClient:
    """A client that signs vouchers and nothing else, attached to the stored deployment."""
    return _attached(ChainClient(settings.CHAIN_RPC_URL, timeout_s=timeout_s, voucher_key=voucher_key()))


def development_key_for(address: str) -> str | None:
    """anvil's key for `address` if it is one of anvil's development accounts, else None.

    Only there may the server sign a claim as the user; every other wallet claims through the operator
    (the tokens still go to the wallet) or signs the claim itself.
    """
    if getattr(settings, "ENVIRONMENT", "development") == "production":
        return None
    return development_key_of(address)


def server_claims_enabled() -> bool:
    """Whether the Claim button sends the claim from the server (development) or hands the wallet the data."""
    default = getattr(settings, "ENVIRONMENT", "development") != "production"
    return bool(getattr(settings, "LEDGER_SERVER_CLAIMS", default))


def settlement_client(*, timeout_s: float = 3.0) -> ChainClient:
    """A client signing as the operator and attached to the stored deployment; never deploys.

    Deploying is `manage.py deploy_contracts`' job: a settlement run against a node restarted without
    its state must not quietly deploy fresh contracts and renumber epochs from 1. Raises
    `ContractsNotDeployed` when there is no live deployment and `ChainUnavailable` when the node is down.
    """
    return _attached(ChainClient(settings.CHAIN_RPC_URL, timeout_s=timeout_s, operator_key=operator_key()))


def _attached(client: ChainClient) -> ChainClient:
    """`client` attached to the deployment stored under VAR_DIR, or `ContractsNotDeployed`."""
    if client.find_deployment(Path(settings.VAR_DIR)) is None:
        raise ContractsNotDeployed(
            f"no live deployment for {settings.CHAIN_RPC_URL} under {settings.VAR_DIR}: "
            "run `manage.py deploy_contracts`"
        )
    return client


def reader_client(*, timeout_s: float = 2.0) -> ChainClient:
    """A read-only client for pages: it can verify proofs but sign nothing."""
    client = ChainClient(settings.CHAIN_RPC_URL, timeout_s=timeout_s)
    if client.find_deployment(Path(settings.VAR_DIR)) is None:
        raise ContractsNotDeployed(f"no live deployment for {settings.CHAIN_RPC_URL}")
    return client
