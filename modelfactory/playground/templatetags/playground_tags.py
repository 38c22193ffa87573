"""Template filters of the playground."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from modelfactory.playground.answer_markdown import render_markdown

register = template.Library()


@register.filter
def markdown(text: str) -> SafeString:
    """An answer as HTML; safe to mark so because `render_markdown` escapes all raw HTML."""
    return mark_safe(render_markdown(text))
