"""Every setting that comes from the environment is read here, and only here.

A missing or malformed variable must stop start-up with one line that names it, so each
reader raises `ConfigurationError` with that line; the entry points (`manage.py`, ASGI,
Celery) print it and exit instead of showing a traceback.
"""

from __future__ import annotations

import ipaddress
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


LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1", "testserver"})
"""Names that only this machine answers to; anything else in ALLOWED_HOSTS means people elsewhere reach it."""


def is_local_host(host: str) -> bool:
    host = host.strip().lower()
    return host in LOCAL_HOSTS or host.endswith(".localhost") or host.startswith("127.")


def refuse_public_development(name: str, allowed_hosts: list[str]) -> None:
    """Stop start-up when the hosts say "public" but the environment says "development".

    Development means DEBUG (settings and tracebacks shown to anyone), the secret key printed in this
    repository and anvil's public keys; an operator who forgot MODELFACTORY_ENV=production on a public
    server would otherwise run exactly that, silently. Start-up is the last moment this can be noticed.
    """
    if environment() != "development":
        return
    public = [host for host in allowed_hosts if not is_local_host(host)]
    if public and not boolean("MODELFACTORY_ALLOW_PUBLIC_DEVELOPMENT", False):
        raise ConfigurationError(
            f"{name} names {', '.join(public)}, which is not this machine, but MODELFACTORY_ENV is "
            "development (DEBUG on, a public secret key): set MODELFACTORY_ENV=production, "
            "or MODELFACTORY_ALLOW_PUBLIC_DEVELOPMENT=1 to insist"
        )


def debug(name: str) -> bool:
    """DEBUG: on in development, off in production, where turning it on is refused.

    A production DEBUG page shows settings, SQL and tracebacks to every visitor who finds an error.
    """
    value = boolean(name, default=not is_production())
    if value and is_production():
        raise ConfigurationError(
            f"{name}=1 is refused when MODELFACTORY_ENV=production (error pages would show settings and "
            f"tracebacks to anyone); unset {name}"
        )
    return value


def origins(name: str) -> list[str]:
    """Comma-separated origins (scheme://host[:port]); production accepts https ones only."""
    values = [origin.strip() for origin in os.environ.get(name, "").split(",") if origin.strip()]
    for origin in values:
        parsed = urlparse(origin)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ConfigurationError(
                f"{name} holds {origin!r}; each origin is scheme://host, e.g. https://example.org"
            )
        if is_production() and parsed.scheme != "https":
            raise ConfigurationError(f"{name} holds {origin!r}; production origins must be https://")
    return values


def proxy_ssl_header(name: str) -> tuple[str, str] | None:
    """The header a TLS-terminating proxy sets to say the client used HTTPS, e.g. ``X-Forwarded-Proto``.

    Unset means no proxy is trusted: a client could otherwise claim HTTPS itself. Set it only when every
    request passes through a proxy that overwrites that header.
    """
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    if not re.fullmatch(r"[A-Za-z0-9-]+", raw):
        raise ConfigurationError(f"{name}={raw!r} is not a header name; e.g. X-Forwarded-Proto")
    return ("HTTP_" + raw.upper().replace("-", "_"), "https")


def choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    """One word out of a fixed set, e.g. a log format."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value not in choices:
        raise ConfigurationError(f"{name}={raw!r} is not one of {', '.join(choices)}")
    return value


def networks(name: str, default: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated addresses or CIDR blocks (`10.0.0.0/8,::1`); `none` for no address at all.

    Read strictly (`10.0.0.1/8` is refused, not widened to 10.0.0.0/8): an allow-list typo must not
    quietly let a whole network in.
    """
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        raw = default
    if raw.strip().lower() == "none":
        return ()
    blocks = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            blocks.append(ipaddress.ip_network(item))
        except ValueError as error:
            raise ConfigurationError(
                f"{name} holds {item!r}: {error}; give addresses or CIDR blocks, e.g. 10.0.0.0/8,::1"
            ) from None
    return tuple(blocks)


def token(name: str, *, minimum_length: int) -> str:
    """A shared secret a client presents (a bearer token); empty means that way in is closed.

    A short one can be guessed from outside, which would make it no restriction at all.
    """
    value = os.environ.get(name, "").strip()
    if value and len(value) < minimum_length:
        raise ConfigurationError(
            f"{name} is {len(value)} characters; use at least {minimum_length} random ones "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'), or leave it unset"
        )
    return value


def _development_addresses() -> frozenset[str]:
    """anvil's development accounts, lowercased: their keys ship with every Foundry install."""
    from contracts.development_accounts import development_addresses

    return development_addresses()


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
