"""The Content-Security-Policy every page is served with: scripts only from our own static files.

Every script the pages run is a file under /static/ (htmx, Chart.js, ours); data for them travels in
`json_script` blocks, which browsers never execute; htmx is configured with `allowEval` off (base.html),
so no attribute can smuggle code either. An injected `<script>` or `onclick=` is then inert even if
some template ever forgets to escape. Styles may be inline (Chart.js and htmx set them), which CSS
alone cannot turn into script execution.
"""

from __future__ import annotations

import asyncio

from django.http import HttpRequest, HttpResponse
from django.utils.decorators import sync_and_async_middleware

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def _with_policy(response: HttpResponse) -> HttpResponse:
    response.headers.setdefault("Content-Security-Policy", POLICY)
    return response


@sync_and_async_middleware
def content_security_policy(get_response):
    """Sets the header on every response that has none (a view may set a stricter one)."""
    if asyncio.iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponse:
            return _with_policy(await get_response(request))

    else:

        def middleware(request: HttpRequest) -> HttpResponse:
            return _with_policy(get_response(request))

    return middleware
