"""ASGI entry point: uvicorn serves the pages, the API and the token streams from here.

Django is wrapped in `RequestBodyLimit`, because under ASGI it stores a whole request body before any of
its own checks run (see `modelfactory/request_body_limit.py`).
"""

from modelfactory.startup import load_settings_or_exit

load_settings_or_exit()

from django.conf import settings  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

from modelfactory.request_body_limit import RequestBodyLimit  # noqa: E402

MULTIPART_ALLOWANCE = 1024 * 1024  # form fields and part headers around an uploaded file

application = RequestBodyLimit(
    get_asgi_application(),
    default_limit=settings.MODELFACTORY_REQUEST_MAX_BYTES,
    limits={
        "/datanets/*/upload/": settings.MODELFACTORY_UPLOAD_MAX_BYTES + MULTIPART_ALLOWANCE,
        "/v1/files": settings.MODELFACTORY_UPLOAD_MAX_BYTES + MULTIPART_ALLOWANCE,  # fine-tuning files
        "/models/import/": settings.MODELFACTORY_ADAPTER_IMPORT_MAX_BYTES + MULTIPART_ALLOWANCE,
    },
)
