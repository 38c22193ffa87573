"""The rows table keeps its search and page in the URL, and marks search hits without trusting row text."""

from __future__ import annotations

import pytest

from datanets.models import Row
from datanets.services import rows_add
from datanets.templatetags.search_highlight import highlight
from tests.support.factories import make_datanet, make_rows, make_user

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def tides():
    datanet = make_datanet(slug="tides", title="Tides")
    make_rows(datanet, 30, prefix="tide")
    return datanet


def test_a_bookmarked_search_and_page_open_the_whole_page_on_those_rows(client, tides):
    page = client.get("/datanets/tides/", {"q": "tide question", "page": 2}).content.decode()

    assert "<html" in page
    assert "Page 2 of 2 · 30 rows" in page
    assert 'value="tide question"' in page
    assert page.count('data-testid="row"') == 5


def test_htmx_gets_only_the_table_and_the_links_push_their_url_for_back_and_bookmarks(client, tides):
    fragment = client.get("/datanets/tides/", {"q": "tide", "page": 1}, headers=HTMX).content.decode()

    assert "<html" not in fragment
    assert '<div id="rows-results">' in fragment
    assert 'href="/datanets/tides/?page=2&amp;q=tide&amp;status=approved"' in fragment
    assert 'hx-push-url="true"' in fragment


def test_the_search_form_pushes_its_url_to_the_datanet_page(client, tides):
    page = client.get("/datanets/tides/").content.decode()

    form = page[page.index('<div id="rows-table">') :]
    assert 'hx-get="/datanets/tides/"' in form
    assert 'hx-push-url="true"' in form


def test_htmx_restoring_a_page_it_lost_from_history_gets_the_whole_page(client, tides):
    restored = client.get(
        "/datanets/tides/", {"q": "tide", "page": 2}, headers={**HTMX, "HX-History-Restore-Request": "true"}
    ).content.decode()

    assert "<html" in restored
    assert "Page 2 of 2" in restored


def test_search_hits_are_marked_and_row_text_is_never_treated_as_html(client):
    datanet = make_datanet(slug="markup")
    rows_add(
        datanet=datanet,
        contributions=[(make_user(), {"text": "Use <script>alert(1)</script> & a Script tag"})],
        status=Row.Status.APPROVED,
        source="test",
    )

    page = client.get("/datanets/markup/", {"q": "script"}, headers=HTMX).content.decode()

    assert "<script>alert(1)" not in page
    assert (
        "&lt;<mark>script</mark>&gt;alert(1)&lt;/<mark>script</mark>&gt; &amp; a <mark>Script</mark> tag"
        in page
    )


def test_highlighting_never_cuts_an_html_entity_in_two():
    assert highlight("Tom & Jerry <3", "amp") == "Tom &amp; Jerry &lt;3"
    assert highlight("Tom & Jerry", "& j") == "Tom <mark>&amp; J</mark>erry"
    assert highlight("<b>bold</b>", "") == "&lt;b&gt;bold&lt;/b&gt;"
    assert highlight("a.b", ".") == "a<mark>.</mark>b"  # the query is text, not a pattern


def test_visitors_list_approved_rows_only_whatever_status_the_url_asks_for(client, tides):
    make_rows(tides, 2, status=Row.Status.PENDING, prefix="unreviewed")

    stranger_page = client.get("/datanets/tides/", {"status": "pending"}).content.decode()
    client.force_login(tides.owner)
    owner_page = client.get("/datanets/tides/", {"status": "pending"}).content.decode()

    assert "unreviewed" not in stranger_page
    assert 'name="status"' not in stranger_page
    assert owner_page.count("unreviewed question") == 2
    assert 'name="status"' in owner_page
