"""Every setting that comes from the environment is read here, and only here.

A missing or malformed variable must stop start-up with one line that names it, so each
reader raises `ConfigurationError` with that line; the entry points (`manage.py`, ASGI,
Celery) print it and exit instead of showing a traceback.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlparse

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

ENVIRONMENTS = ("development", "production", "test")


class ConfigurationError(ImproperlyConfigured):
    """A setting from the environment is missing or malformed; the message is one line."""


env = environ.Env()


def environment() -> str:
    value = os.environ.get("MODELFACTORY_ENV", "development")
    if value not in ENVIRONMENTS:
        raise ConfigurationError(f"MODELFACTORY_ENV={value!r} is not one of {', '.join(ENVIRONMENTS)}")
    return value


def is_production() -> bool:
    return environment() == "production"


def required_in_production(name: str, development_default: str) -> str:
    """Return the variable, or a development default; production has no defaults for these."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        if is_production():
            raise ConfigurationError(f"{name} is required when MODELFACTORY_ENV=production but is not set")
        return development_default
    return value.strip()


def boolean(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigurationError(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no)")


def integer(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise ConfigurationError(f"{name}={value} must be at least {minimum}")
    return value


def path(name: str, default: Path) -> Path:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    candidate = Path(raw).expanduser()
    return candidate if candidate.is_absolute() else (BASE_DIR / candidate)


def database(name: str, default: str) -> dict:
    url = required_in_production(name, default)
    scheme = urlparse(url).scheme
    known = {"postgres", "postgresql", "pgsql", "psql", "sqlite"}
    if scheme not in known:
        raise ConfigurationError(
            f"{name} has scheme {scheme or '(none)'!r}; expected postgres://USER:PASSWORD@HOST:PORT/NAME "
            "or sqlite:///PATH"
        )
    try:
        config = environ.Env.db_url_config(url)
    except Exception as error:  # django-environ raises a mix of error types for bad URLs
        raise ConfigurationError(f"{name} is malformed: {error}") from None
    if scheme != "sqlite" and not config.get("NAME"):
        raise ConfigurationError(f"{name} names no database; expected postgres://USER@HOST:PORT/NAME")
    return config


def url(name: str, default: str, *, schemes: tuple[str, ...]) -> str:
    value = required_in_production(name, default)
    parsed = urlparse(value)
    if parsed.scheme not in schemes:
        raise ConfigurationError(
            f"{name}={value!r} has scheme {parsed.scheme or '(none)'!r}; expected one of {', '.join(schemes)}"
        )
    return value


def hosts(name: str, default: str) -> list[str]:
    raw = required_in_production(name, default)
    values = [host.strip() for host in raw.split(",") if host.strip()]
    if not values:
        raise ConfigurationError(f"{name} is empty; give a comma-separated list of host names")
    return values


def _development_addresses() -> frozenset[str]:
    """anvil's development accounts, lowercased: their keys ship with every Foundry install."""
    from contracts.development_accounts import ANVIL_KEYS, address_of

    return frozenset(address_of(key).lower() for key in ANVIL_KEYS)


def wallet(name: str, development_default: str) -> str:
    """A wallet the platform pays a share to (its own, the compute operator's).

    Required in production, where anvil's development accounts are refused: their private keys are
    public, so anything paid to them belongs to whoever takes it first.
    """
    value = required_in_production(name, development_default)
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", value):
        raise ConfigurationError(f"{name}={value!r} is not an address; expected 0x and 40 hexadecimal digits")
    if is_production() and value.lower() in _development_addresses():
        raise ConfigurationError(
            f"{name}={value} is one of anvil's development accounts, whose keys are public; "
            "set the production wallet"
        )
    return value


def chain_id(name: str, development_default: int) -> int:
    """The chain's id: required in production, and never anvil's local 31337 there."""
    from contracts.development_accounts import ANVIL_CHAIN_ID

    raw = required_in_production(name, str(development_default))
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not an integer") from None
    if value < 1:
        raise ConfigurationError(f"{name}={value} must be at least 1")
    if is_production() and value == ANVIL_CHAIN_ID:
        raise ConfigurationError(
            f"{name}={value} is anvil's local development chain; set the production chain's id"
        )
    return value


def operator_key_checked(name: str, key: str) -> str:
    """The settlement operator's key as given; production refuses anvil's development keys (public)."""
    if key and is_production():
        from eth_account import Account

        try:
            address = Account.from_key(key).address
        except Exception:  # eth_account raises a mix of errors for malformed keys
            raise ConfigurationError(f"{name} is not a private key (0x and 64 hexadecimal digits)") from None
        if address.lower() in _development_addresses():
            raise ConfigurationError(
                f"{name} is the key of one of anvil's development accounts, which is public; "
                "set the production operator's key"
            )
    return key
