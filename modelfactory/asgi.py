"""ASGI entry point: uvicorn serves the pages, the API and (later) token streams from here."""

from modelfactory.startup import load_settings_or_exit

load_settings_or_exit()

from django.core.asgi import get_asgi_application  # noqa: E402

application = get_asgi_application()
