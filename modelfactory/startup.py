"""One place where every entry point (manage.py, ASGI, WSGI, Celery) loads settings.

A configuration mistake must read as one line naming the variable, not as a traceback, so
entry points call `load_settings_or_exit()` before anything else touches Django.
"""

from __future__ import annotations

import os
import sys

DEFAULT_SETTINGS = "modelfactory.settings.base"


def load_settings_or_exit() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", DEFAULT_SETTINGS)
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        settings.INSTALLED_APPS  # noqa: B018  (touching a setting imports the settings module)
    except ImproperlyConfigured as error:
        print(f"modelfactory: configuration error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
