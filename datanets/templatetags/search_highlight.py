"""`highlight`: the rows table marks where the search matched, without ever trusting row text as HTML."""

from __future__ import annotations

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def highlight(text: object, query: str) -> SafeString:
    """``text`` escaped, with every case-insensitive occurrence of ``query`` wrapped in <mark>.

    Row text is written by strangers, so every piece is escaped before any markup is added. The
    matches are found in the raw text and each piece escaped on its own, rather than searching the
    escaped text: a search for "amp" or "lt" must not match inside "&amp;" or "&lt;" and cut an entity.
    """
    raw = "" if text is None else str(text)
    query = (query or "").strip()
    if not query:
        return escape(raw)
    pieces = re.split(f"({re.escape(query)})", raw, flags=re.IGNORECASE)
    # re.split with one capturing group alternates: text, match, text, match, ..., text
    return mark_safe(  # every piece is escaped; only <mark> is added
        "".join(
            f"<mark>{escape(piece)}</mark>" if index % 2 else escape(piece)
            for index, piece in enumerate(pieces)
        )
    )
