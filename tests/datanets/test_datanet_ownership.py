"""Datanets are created by anyone signed in and run by their owner: details, archive, reviewers, dashboard."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from datanets.models import AccessRequest, Datanet, Row, Upload
from datanets.services import access_request_create, datanet_reviewing_configure, version_publish
from datanets.upload_services import upload_run_import
from modelfactory.finetuning.selectors import trainable_datanets
from tests.datanets.credited_answers import OPEN, credited_answer
from tests.datanets.upload_steps import import_upload, jsonl, upload_file, visible_text
from tests.support.factories import make_datanet, make_rows, make_user

pytestmark = pytest.mark.django_db

TIDES = [
    {"prompt": f"When is high tide at pier {i}?", "completion": f"At {i + 6} o'clock."} for i in range(3)
]


def create_datanet(client, **fields) -> object:
    data = {
        "title": "Harbor tides",
        "description": "Tide times asked and answered.",
        "tags": "Tides, harbor, tides",
        "license": "CC-BY-4.0",
        "expected_format": "prompt_completion",
        "visibility": "public",
        **fields,
    }
    return client.post("/datanets/new/", data)


@pytest.fixture
def owner():
    return make_user("harbormaster")


@pytest.fixture
def owned(owner):
    return make_datanet(owner=owner, slug="harbor", title="Harbor")


# --- Creating ----------------------------------------------------------------------------------------
def test_a_signed_in_user_creates_a_datanet_they_own_with_a_slug_proposed_from_the_title(client, owner):
    client.force_login(owner)

    response = create_datanet(client)

    datanet = Datanet.objects.get(slug="harbor-tides")
    assert response.status_code == 302
    assert response["Location"] == "/datanets/harbor-tides/"
    assert datanet.owner == owner
    assert datanet.tags == ["tides", "harbor"]
    assert (datanet.expected_format, datanet.visibility, datanet.license) == (
        "prompt_completion",
        "public",
        "CC-BY-4.0",
    )


def test_a_second_datanet_with_the_same_title_gets_the_next_free_slug(client, owner):
    client.force_login(owner)
    create_datanet(client)

    create_datanet(client)

    assert sorted(Datanet.objects.values_list("slug", flat=True)) == ["harbor-tides", "harbor-tides-2"]


def test_the_proposal_shown_while_typing_skips_taken_slugs_and_the_sites_own_pages(client, owner):
    client.force_login(owner)
    create_datanet(client)

    taken = client.get("/datanets/new/slug/", {"title": "Harbor Tides"}).content.decode()
    page_name = client.get("/datanets/new/slug/", {"title": "New"}).content.decode()

    assert "/datanets/harbor-tides-2/" in taken
    assert "/datanets/new-2/" in page_name


def test_a_chosen_slug_that_is_taken_or_names_a_page_is_refused_with_a_free_one(client, owner):
    client.force_login(owner)
    create_datanet(client, slug="tides")

    taken = create_datanet(client, slug="tides", title="Other tides")
    page_name = create_datanet(client, slug="contributions", title="Contributions")

    assert "the address &#x27;tides&#x27; is taken; &#x27;tides-2&#x27; is free" in taken.content.decode()
    assert "&#x27;contributions&#x27; is taken" in page_name.content.decode()
    assert list(Datanet.objects.values_list("slug", flat=True)) == ["tides"]


def test_anonymous_visitors_are_asked_to_log_in_before_creating_and_see_no_new_button(client):
    response = create_datanet(client)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not Datanet.objects.exists()
    assert "New datanet" not in client.get("/datanets/").content.decode()


def test_browse_offers_a_new_datanet_button_and_my_contributions_to_signed_in_users(client, owner):
    client.force_login(owner)

    page = client.get("/datanets/").content.decode()

    assert 'href="/datanets/new/"' in page
    assert 'href="/datanets/contributions/"' in page


def test_the_owner_pages_render_for_a_datanet_made_before_formats_were_checked(client, owned):
    client.force_login(owned.owner)

    settings_page = client.get("/datanets/harbor/settings/").content.decode()

    assert client.get("/datanets/new/").status_code == 200
    assert client.get("/datanets/harbor/dashboard/").status_code == 200
    assert '<option value="" selected>Any format (not checked)</option>' in settings_page
    assert "/datanets/harbor/" in settings_page


# --- The whole loop, through the pages alone ------------------------------------------------------
def test_a_new_datanet_goes_from_empty_to_a_published_version_without_any_command_line(client, owner):
    contributor = make_user("tide_watcher")
    client.force_login(owner)
    create_datanet(client)
    datanet = Datanet.objects.get(slug="harbor-tides")

    empty = visible_text(client.get("/datanets/harbor-tides/").content.decode())
    assert "No rows yet" in empty
    assert "Add rows : upload a file" in empty
    assert "Publish a version" in empty
    assert "fine-tuning wizard" in empty

    client.force_login(contributor)
    theirs = upload_file(client, datanet, "tides.jsonl", jsonl(TIDES))
    import_upload(client, theirs, prompt="prompt", completion="completion")
    waiting = visible_text(client.get(f"/datanets/harbor-tides/uploads/{theirs.pk}/").content.decode())
    assert "3 rows received, waiting for the owner's review." in waiting

    client.force_login(owner)
    own = [{"prompt": "Is the harbor tidal?", "completion": "Yes, twice a day."}]
    mine = upload_file(client, datanet, "mine.jsonl", jsonl(own))
    import_upload(client, mine, prompt="prompt", completion="completion")
    assert "1 row added." in visible_text(
        client.get(f"/datanets/harbor-tides/uploads/{mine.pk}/").content.decode()
    )

    pending = list(datanet.rows.filter(status=Row.Status.PENDING).order_by("id"))
    review_page = client.get("/datanets/harbor-tides/review/").content.decode()
    assert review_page.count('data-testid="pending-row"') == 3
    client.post(
        "/datanets/harbor-tides/review/", {"row": [pending[0].pk, pending[1].pk], "decision": "approve"}
    )
    client.post(
        "/datanets/harbor-tides/review/",
        {"row": [pending[2].pk], "decision": "reject", "reason": "pier 2 has no tide gauge"},
    )
    client.post("/datanets/harbor-tides/versions/publish/", {"notes": "first tides"})

    version = datanet.versions.get()
    assert (version.number, version.row_count) == (1, 3)
    exported = b"".join(client.get("/datanets/harbor-tides/versions/1/export.jsonl").streaming_content)
    assert sorted(json.loads(line)["contributor"] for line in exported.decode().splitlines()) == [
        "harbormaster",
        "tide_watcher",
        "tide_watcher",
    ]
    assert (datanet, [version]) in trainable_datanets(contributor)
    assert "No rows yet" not in client.get("/datanets/harbor-tides/").content.decode()


# --- Only the owner edits, archives and configures ------------------------------------------------
def owner_only_posts(slug: str) -> list[tuple[str, dict]]:
    return [
        (
            f"/datanets/{slug}/settings/",
            {
                "form": "details",
                "title": "Taken over",
                "license": "MIT",
                "expected_format": "text",
                "visibility": "permissioned",
            },
        ),
        (
            f"/datanets/{slug}/settings/",
            {"form": "reviewing", "reviewers": "intruder", "auto_approved": "intruder"},
        ),
        (f"/datanets/{slug}/archive/", {"action": "archive"}),
    ]


def test_non_owners_cannot_edit_archive_or_configure_a_datanet_and_it_stays_unchanged(client, owned):
    intruder = make_user("intruder")
    reviewer = make_user("trusted_reviewer")
    datanet_reviewing_configure(
        datanet=owned, user=owned.owner, reviewers=["trusted_reviewer"], auto_approved=[]
    )

    for user in (intruder, reviewer):
        client.force_login(user)
        assert client.get("/datanets/harbor/settings/").status_code == 403
        assert client.get("/datanets/harbor/dashboard/").status_code == 403
        for url, data in owner_only_posts("harbor"):
            assert client.post(url, data).status_code == 403, (user, url, data)

    owned.refresh_from_db()
    assert (owned.title, owned.visibility, owned.archived) == ("Harbor", "public", None)
    assert list(owned.reviewers.values_list("username", flat=True)) == ["trusted_reviewer"]
    assert not owned.auto_approved_contributors.exists()


def test_anonymous_visitors_are_sent_to_log_in_from_every_owner_page(client, owned):
    for url, data in owner_only_posts("harbor"):
        response = client.post(url, data)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/"), url
    assert Datanet.objects.get(pk=owned.pk).archived is None


def test_the_owner_edits_the_details_and_the_slug_stays_the_datanets_address(client, owned):
    client.force_login(owned.owner)

    response = client.post(
        "/datanets/harbor/settings/",
        {
            "form": "details",
            "title": "Harbor, all piers",
            "slug": "stolen-address",
            "description": "Every pier.",
            "tags": "tides",
            "license": "CC0-1.0",
            "expected_format": "prompt_completion",
            "visibility": "permissioned",
        },
    )

    owned.refresh_from_db()
    assert response.status_code == 302
    assert (owned.slug, owned.title, owned.license, owned.visibility) == (
        "harbor",
        "Harbor, all piers",
        "CC0-1.0",
        "permissioned",
    )


def test_the_expected_format_cannot_change_while_rows_of_another_format_are_kept(client, owned):
    make_rows(owned, 2, prefix="pair")  # prompt/completion rows
    client.force_login(owned.owner)

    response = client.post(
        "/datanets/harbor/settings/",
        {
            "form": "details",
            "title": "Harbor",
            "license": "CC-BY-4.0",
            "expected_format": "text",
            "visibility": "public",
        },
    )

    assert "2 pending or approved rows are in another format" in visible_text(response.content.decode())
    owned.refresh_from_db()
    assert owned.expected_format == ""


def test_an_archived_datanet_is_hidden_from_browse_refuses_rows_and_keeps_its_versions_usable(client, owned):
    make_rows(owned, 2, prefix="kept")
    version = version_publish(datanet=owned)
    client.force_login(owned.owner)

    client.post("/datanets/harbor/archive/", {"action": "archive"})

    contributor = make_user("late_contributor")
    client.force_login(contributor)
    refused_upload = client.post(
        "/datanets/harbor/upload/", {"file": SimpleUploadedFile("late.jsonl", jsonl(TIDES))}
    )
    refused_row = client.post(
        "/datanets/harbor/contribute/", {"kind": "prompt_completion", "prompt": "Late?", "completion": "Yes."}
    )
    assert "Harbor" not in visible_text(client.get("/datanets/").content.decode())
    assert "is archived and takes no new rows" in visible_text(refused_upload.content.decode())
    assert "is archived and takes no new rows" in visible_text(refused_row.content.decode())
    assert owned.rows.count() == 2
    assert not Upload.objects.exists()
    assert client.get("/datanets/harbor/").status_code == 200
    assert client.get("/datanets/harbor/versions/1/export.jsonl").status_code == 200
    assert (owned, [version]) in trainable_datanets(contributor)

    client.force_login(owned.owner)
    assert "Harbor" in client.get("/datanets/").content.decode()  # in "Your archived datanets"
    client.post("/datanets/harbor/archive/", {"action": "restore"})
    client.force_login(contributor)
    assert 'data-testid="datanet-card"' in client.get("/datanets/").content.decode()


def test_an_import_chosen_before_the_datanet_was_archived_writes_nothing_after(client, owned, settings):
    settings.MODELFACTORY_UPLOAD_INLINE_BYTES = 0  # as for a large file: the import waits for a worker
    client.force_login(owned.owner)
    up = upload_file(client, owned, "tides.jsonl", jsonl(TIDES))
    import_upload(client, up, prompt="prompt", completion="completion")
    client.post("/datanets/harbor/archive/", {"action": "archive"})

    upload_run_import(upload_id=up.pk)

    up.refresh_from_db()
    assert up.status == Upload.Status.FAILED
    assert "archived" in up.error
    assert owned.rows.count() == 0


# --- Reviewers and auto-approval --------------------------------------------------------------------
def test_listed_reviewers_review_rows_but_may_not_publish_or_decide_access(client, owner):
    datanet = make_datanet(owner=owner, slug="private-harbor", permissioned=True)
    pending = make_rows(datanet, 2, status=Row.Status.PENDING, prefix="waiting")
    asker = make_user("asker")
    access_request_create(datanet=datanet, user=asker)
    deckhand = make_user("deckhand")
    client.force_login(owner)

    client.post(
        "/datanets/private-harbor/settings/",
        {"form": "reviewing", "reviewers": "Deckhand, harbormaster", "auto_approved": ""},
    )
    assert list(datanet.reviewers.all()) == [deckhand]  # the owner reviews anyway and is not listed

    client.force_login(deckhand)
    assert client.get("/datanets/private-harbor/").status_code == 200
    client.post("/datanets/private-harbor/review/", {"row": [pending[0].pk], "decision": "approve"})
    request = AccessRequest.objects.get(user=asker)
    assert client.post("/datanets/private-harbor/versions/publish/").status_code == 403
    assert (
        client.post(
            f"/datanets/private-harbor/access/{request.pk}/decide/", {"decision": "approve"}
        ).status_code
        == 403
    )
    assert Row.objects.get(pk=pending[0].pk).status == Row.Status.APPROVED
    assert not datanet.versions.exists()
    assert AccessRequest.objects.get(user=asker).status == AccessRequest.Status.PENDING


def test_unknown_usernames_in_the_reviewing_settings_are_named_and_nothing_changes(client, owned):
    make_user("deckhand")
    client.force_login(owned.owner)

    response = client.post(
        "/datanets/harbor/settings/",
        {"form": "reviewing", "reviewers": "deckhand, nobody_here", "auto_approved": ""},
    )

    assert "no user named &#x27;nobody_here&#x27;" in response.content.decode()
    assert not owned.reviewers.exists()


def test_auto_approved_contributors_rows_arrive_approved_and_everyone_elses_wait(client, owned):
    trusted, stranger = make_user("trusted_diver"), make_user("stranger")
    datanet_reviewing_configure(
        datanet=owned, user=owned.owner, reviewers=[], auto_approved=["trusted_diver"]
    )

    client.force_login(trusted)
    up = upload_file(client, owned, "tides.jsonl", jsonl(TIDES))
    import_upload(client, up, prompt="prompt", completion="completion")
    client.post(
        "/datanets/harbor/contribute/",
        {"kind": "prompt_completion", "prompt": "Fog?", "completion": "Often."},
    )
    result = visible_text(client.get(f"/datanets/harbor/uploads/{up.pk}/").content.decode())
    client.force_login(stranger)
    client.post(
        "/datanets/harbor/contribute/",
        {"kind": "prompt_completion", "prompt": "Wind?", "completion": "West."},
    )

    assert "3 rows added." in result
    assert set(owned.rows.filter(contributor=trusted).values_list("status", flat=True)) == {
        Row.Status.APPROVED
    }
    assert owned.rows.filter(contributor=trusted).count() == 4
    assert owned.rows.get(contributor=stranger).status == Row.Status.PENDING


# --- The owner's dashboard --------------------------------------------------------------------------
def test_the_owner_dashboard_shows_what_waits_what_was_published_and_what_the_datanet_earned(client, owner):
    datanet = make_datanet(owner=owner, slug="tide-tables", permissioned=True)
    contributor = make_user("gauge_reader")
    make_rows(datanet, 3, contributor=contributor, prefix="published")
    version_publish(datanet=datanet)
    make_rows(datanet, 2, contributor=contributor, prefix="new")
    make_rows(datanet, 4, contributor=contributor, status=Row.Status.PENDING, prefix="waiting")
    access_request_create(datanet=datanet, user=make_user("researcher"), message="for a tide model")
    credited_answer(datanet=datanet, contributor=contributor, amount=3 * OPEN // 2)
    client.force_login(owner)

    page = client.get("/datanets/tide-tables/dashboard/").content.decode()
    text = visible_text(page)

    assert "4 rows wait for review" in text
    assert 'href="/datanets/tide-tables/review/"' in page
    assert "2 approved rows not in a version yet" in text
    assert "v1 · 3 rows" in text
    assert "researcher — for a tide model" in text
    assert "Decide 1 request" in text
    assert "1.5 OPEN credited by 1 answer" in text


def test_the_dashboard_link_is_shown_to_the_owner_only(client, owned):
    client.force_login(owned.owner)
    assert 'href="/datanets/harbor/dashboard/"' in client.get("/datanets/harbor/").content.decode()

    client.force_login(make_user("visitor"))
    assert 'href="/datanets/harbor/dashboard/"' not in client.get("/datanets/harbor/").content.decode()
