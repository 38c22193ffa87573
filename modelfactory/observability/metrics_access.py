"""Who may read /metrics: a client presenting `MODELFACTORY_METRICS_TOKEN`, or one whose address is in
`MODELFACTORY_METRICS_ALLOW` (loopback only by default).

Metrics describe the deployment (models served, queue depths, traffic): for anyone else the page is not
there. It answers Django's own 404, the very response a URL that does not exist gets, rather than a domain
error's page (whose words would differ and so tell a prober that something is there). That is why this
raises `Http404` itself instead of going through `modelfactory/domain_errors.py`: the decision is not a
domain refusal but "this URL does not exist for you".

The address is the one uvicorn reports: behind a proxy, the proxy's, unless uvicorn is told to trust the
proxy's X-Forwarded-For (`--forwarded-allow-ips`); list the proxy's address, or use the token.
"""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import Http404, HttpRequest


def metrics_readable_by(request: HttpRequest) -> bool:
    return _presents_the_token(request) or _address_allowed(request.META.get("REMOTE_ADDR", ""))


def require_metrics_access(request: HttpRequest) -> None:
    if not metrics_readable_by(request):
        raise Http404("no such page")


def _presents_the_token(request: HttpRequest) -> bool:
    expected = settings.MODELFACTORY_METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if not expected or header[:7].lower() != "bearer ":
        return False
    return hmac.compare_digest(header[7:].strip().encode(), expected.encode())


def _address_allowed(address: str) -> bool:
    try:
        client = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(client, ipaddress.IPv6Address) and client.ipv4_mapped is not None:
        client = client.ipv4_mapped
    return any(client in block for block in settings.MODELFACTORY_METRICS_ALLOW)
