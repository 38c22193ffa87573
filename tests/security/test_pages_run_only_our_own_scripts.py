"""A Content-Security-Policy that runs only our own script files, and pages that need nothing else.

An injected `<script>` or `onclick=` (a template that forgot to escape, a stored row shown raw) is then
inert in the browser. The pages are checked as rendered, so a new inline handler fails here first.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from modelfactory.content_security_policy import POLICY
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db

PAGES = [
    "/",
    "/datanets/",
    "/finetune/",
    "/playground/",
    "/account/api-keys/",
    "/accounts/profile/",
    "/wallet/",
    "/earnings/",
    "/ledger/",
    "/models/",
    "/docs/api/",
]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


def test_every_response_says_scripts_come_only_from_this_site(client):
    page = client.get("/")
    api = client.get("/v1/models")

    for response in (page, api):
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
        assert "object-src 'none'" in policy
        assert "frame-ancestors 'none'" in policy
    assert page["Content-Security-Policy"] == POLICY


@pytest.mark.parametrize("path", PAGES)
def test_a_rendered_page_has_no_inline_script_or_handler_the_policy_would_block(client, path):
    client.force_login(make_user("ada"))

    response = client.get(path, follow=True)
    html = response.content.decode()

    assert response.status_code == 200
    assert not INLINE_SCRIPT.findall(html)
    assert not INLINE_HANDLER.findall(html)


def test_no_template_writes_an_inline_script_or_handler_and_htmx_may_not_eval():
    templates = Path(__file__).resolve().parents[2] / "templates"
    offending = [
        f"{path.relative_to(templates)}: {match.group(0)[:80]}"
        for path in templates.rglob("*.html")
        for pattern in (INLINE_SCRIPT, INLINE_HANDLER)
        for match in pattern.finditer(path.read_text())
    ]

    assert offending == []
    assert (
        """<meta name="htmx-config" content='{"allowEval": false}'>"""
        in (templates / "base.html").read_text()
    )
