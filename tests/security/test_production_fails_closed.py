"""A server reachable from elsewhere never runs with development settings by omission.

The attack: with MODELFACTORY_ENV unset the app ran as development (DEBUG pages, the secret key printed in
this repository, anvil's public keys) whatever hosts it answered for, DEBUG=1 was accepted in production,
and nothing asked for HTTPS. Start-up now refuses those configurations with one line saying what to set,
production is HTTPS-only by default, and the demo's password-"demo" accounts cannot be loaded there.

Each start-up is a real `manage.py` process with only the variables given, as an operator would run it.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from modelfactory.accounts.models import User
from tests.support.processes import REPO


def production_variables(var_dir: Path) -> dict[str, str]:
    """Everything production requires, none of it a development default (fresh keys and wallets)."""
    return {
        "MODELFACTORY_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "modelfactory.example.org",
        "DATABASE_URL": "postgres://modelfactory@db.example.org:5432/modelfactory",
        "CELERY_BROKER_URL": "redis://redis.example.org:6379/0",
        "CHAIN_RPC_URL": "https://rpc.example.org",
        "CHAIN_ID": "8453",
        "CHAIN_OPERATOR_KEY": "0x" + secrets.token_hex(32),
        "MODELFACTORY_PLATFORM_WALLET": "0x" + secrets.token_hex(20),
        "MODELFACTORY_OPERATOR_WALLET": "0x" + secrets.token_hex(20),
        "MODELFACTORY_VAR_DIR": str(var_dir),
    }


def manage(*arguments: str, variables: dict[str, str]) -> subprocess.CompletedProcess:
    """Run manage.py with a clean environment: only PATH, HOME and `variables`."""
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "modelfactory.settings.base",
        **variables,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def settings_seen(variables: dict[str, str], *names: str) -> dict:
    code = (
        "import json; from django.conf import settings as s; "
        f"print(json.dumps({{n: getattr(s, n, None) for n in {list(names)!r}}}))"
    )
    result = manage("shell", "-c", code, variables=variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_public_host_with_development_settings_refuses_to_start(tmp_path):
    development = {
        "ALLOWED_HOSTS": "modelfactory.example.org,localhost",
        "MODELFACTORY_VAR_DIR": str(tmp_path),
    }

    refused = manage("check", variables=development)

    assert refused.returncode == 2
    assert refused.stderr.strip().count("\n") == 0, "one line, not a traceback"
    assert "modelfactory.example.org" in refused.stderr
    assert "set MODELFACTORY_ENV=production" in refused.stderr
    assert "MODELFACTORY_ALLOW_PUBLIC_DEVELOPMENT=1" in refused.stderr
    # Insisting, or answering only for this machine, starts as before.
    assert (
        manage("check", variables={**development, "MODELFACTORY_ALLOW_PUBLIC_DEVELOPMENT": "1"}).returncode
        == 0
    )
    local = {
        "ALLOWED_HOSTS": "localhost,127.0.0.1,[::1],dev.localhost",
        "MODELFACTORY_VAR_DIR": str(tmp_path),
    }
    assert manage("check", variables=local).returncode == 0


def test_debug_is_refused_in_production(tmp_path):
    refused = manage("check", variables={**production_variables(tmp_path), "DEBUG": "1"})

    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        "modelfactory: configuration error: DEBUG=1 is refused when MODELFACTORY_ENV=production (error pages "
        "would show settings and tracebacks to anyone); unset DEBUG"
    )


def test_production_is_https_only_and_check_deploy_warns_only_about_the_domain_owners_choices(tmp_path):
    variables = production_variables(tmp_path)

    checked = manage("check", "--deploy", variables=variables)
    seen = settings_seen(
        {**variables, "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto"},
        "DEBUG",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_PROXY_SSL_HEADER",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
    )

    assert checked.returncode == 0, checked.stderr
    warned = {word.strip("():") for word in checked.stderr.split() if word.startswith("(security.")}
    # Whether every subdomain is HTTPS too, and whether to join browsers' preload lists, only the owner of
    # the domain can say: SECURE_HSTS_INCLUDE_SUBDOMAINS=1 and SECURE_HSTS_PRELOAD=1 silence these two.
    assert warned <= {"security.W005", "security.W021"}, checked.stderr
    assert seen == {
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 365 * 24 * 3600,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
    }
    with_choices = {**variables, "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1", "SECURE_HSTS_PRELOAD": "1"}
    assert "security.W" not in manage("check", "--deploy", variables=with_choices).stderr


def test_production_refuses_a_plain_http_trusted_origin(tmp_path):
    refused = manage(
        "check",
        variables={
            **production_variables(tmp_path),
            "CSRF_TRUSTED_ORIGINS": "http://modelfactory.example.org",
        },
    )

    assert refused.returncode == 2
    assert "production origins must be https://" in refused.stderr


def test_the_model_hub_is_never_called_unless_the_operator_allows_it(tmp_path):
    code = (
        "import os; from huggingface_hub import constants; "
        "print(os.environ['HF_HUB_OFFLINE'], constants.HF_HUB_OFFLINE)"
    )

    offline = manage("shell", "-c", code, variables={"MODELFACTORY_VAR_DIR": str(tmp_path)})
    allowed = manage(
        "shell", "-c", code, variables={"MODELFACTORY_VAR_DIR": str(tmp_path), "HF_HUB_OFFLINE": "0"}
    )

    assert offline.stdout.split()[-2:] == ["1", "True"]
    assert allowed.stdout.split()[-2:] == ["0", "False"]


@pytest.mark.django_db
def test_the_demo_and_its_password_demo_accounts_are_refused_in_production(settings):
    settings.ENVIRONMENT = "production"

    with pytest.raises(CommandError, match="refused when MODELFACTORY_ENV=production"):
        call_command("seed_demo", "--no-fine-tunes")

    assert not User.objects.filter(username="demo").exists()
