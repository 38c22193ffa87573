"""Test settings: the real PostgreSQL server when it is reachable, SQLite otherwise.

With MF_REQUIRE_SERVICES=1 (CI) an unreachable PostgreSQL stops the run instead of quietly
falling back, so a green CI always means the suite ran against the real database.
"""

from __future__ import annotations

import os
import sys

from modelfactory.settings.base import *  # noqa: F403
from modelfactory.settings.base import VAR_DIR
from modelfactory.settings.reachability import tcp_reachable

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = False

_pg_host = os.environ.get("MF_TEST_POSTGRES_HOST", "127.0.0.1")
_pg_port = int(os.environ.get("MF_TEST_POSTGRES_PORT", "5432"))

if "DATABASE_URL" in os.environ:
    pass  # an explicit choice wins
elif tcp_reachable(_pg_host, _pg_port):
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "modelfactory",
            "USER": os.environ.get("MF_TEST_POSTGRES_USER", "postgres"),
            "HOST": _pg_host,
            "PORT": _pg_port,
        }
    }
elif os.environ.get("MF_REQUIRE_SERVICES") == "1":
    raise SystemExit(f"MF_REQUIRE_SERVICES=1 but PostgreSQL is not reachable at {_pg_host}:{_pg_port}")
else:
    print(
        f"[tests] PostgreSQL not reachable at {_pg_host}:{_pg_port}: running the suite on SQLite",
        file=sys.stderr,
    )
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(VAR_DIR / "test.sqlite3")}}

CELERY_BROKER_URL = "memory://"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Each test changes what the checks see (a chain URL, a base model): no report may outlive its test.
MODELFACTORY_HEALTH_CACHE_S = 0
