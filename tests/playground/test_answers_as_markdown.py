"""Answers are shown as Markdown with code blocks, and whatever HTML a model writes is shown, not run."""

from __future__ import annotations

import pytest

from modelfactory.playground.answer_markdown import render_markdown
from modelfactory.playground.models import Message
from modelfactory.serving import engine_runtime
from tests.playground.playground_support import publish_tiny_base, streamed
from tests.support.factories import make_user
from tests.support.funding import fund

pytestmark = pytest.mark.django_db

MARKDOWN_ANSWER = """Here is **the** answer:

```python
print("<b>hi</b>")
```

<script>alert("owned")</script> <img src=x onerror=alert(1)> [click](javascript:alert(1))"""


@pytest.fixture
def alice(client, use_tiny_base_model):
    publish_tiny_base(use_tiny_base_model)
    user = make_user("alice")
    fund(user)  # every answer is paid for; refusals have their own tests (tests/billing)
    client.force_login(user)
    yield user
    engine_runtime.shutdown()


def send(client, message: str = "What is 2 plus 3?"):
    data = {"model": "tiny-base", "temperature": "0", "top_p": "1", "max_tokens": "8", "message": message}
    return client.post("/playground/send/", data).json()


def test_markdown_becomes_html_with_code_blocks_and_raw_html_is_escaped():
    html = render_markdown(MARKDOWN_ANSWER)

    assert "<strong>the</strong>" in html
    assert '<pre><code class="language-python">print(&quot;&lt;b&gt;hi&lt;/b&gt;&quot;)' in html
    assert "&lt;script&gt;" in html
    assert "<script" not in html
    assert "<img" not in html
    assert 'href="javascript' not in html


def test_links_in_answers_neither_pass_ranking_nor_a_referrer():
    assert render_markdown("[docs](https://example.org)") == (
        '<p><a href="https://example.org" rel="nofollow noopener noreferrer">docs</a></p>\n'
    )


def test_a_finished_answer_is_rendered_as_markdown_on_the_conversation_page(client, alice):
    payload = send(client)
    Message.objects.filter(pk=payload["answers"][0]["message_id"]).update(
        content=MARKDOWN_ANSWER, status=Message.Status.DONE
    )

    page = client.get(payload["conversation_url"]).content.decode()

    assert '<pre><code class="language-python">' in page
    assert "&lt;script&gt;alert" in page
    assert '<script>alert("owned")' not in page


def test_the_streams_last_frame_carries_the_answer_rendered_as_the_page_renders_it(client, alice):
    payload = send(client)

    events = streamed(client.get(payload["answers"][0]["stream_url"]))

    answer = Message.objects.get(pk=payload["answers"][0]["message_id"])
    assert events[-1][0] == "done"
    assert events[-1][1]["html"] == render_markdown(answer.content)
    assert answer.content  # the stored text stays as the model wrote it
