"""Answers rendered as Markdown, safely: a model's text is untrusted input that reaches people's pages.

Models answer in Markdown (lists, emphasis, fenced code), so the page renders it, on the server, with
markdown-it-py's CommonMark parser. Raw HTML in an answer is escaped and shown as text, never passed
through; links with a script or data scheme are not made links (markdown-it's own check); images are
not rendered at all, since an answer could otherwise make the reader's browser fetch any address.
"""

from __future__ import annotations

from markdown_it import MarkdownIt

_renderer = (
    MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    .enable(["table", "strikethrough"])
    .disable("image")
)


def _link_open(renderer, tokens, index, options, env) -> str:
    """Links in answers are the model's, not ours: no ranking credit, no window handle, no referrer."""
    tokens[index].attrSet("rel", "nofollow noopener noreferrer")
    return renderer.renderToken(tokens, index, options, env)


_renderer.add_render_rule("link_open", _link_open)


def render_markdown(text: str) -> str:
    """HTML for ``text``: fenced code becomes ``<pre><code class="language-…">``, everything escaped."""
    return _renderer.render(text or "")
