"""Contributors see their own rows: where each stands, why it was rejected, its versions, its earnings."""

from __future__ import annotations

import pytest

from datanets.models import Row
from datanets.services import rows_review, version_publish
from tests.datanets.credited_answers import OPEN, credited_answer
from tests.datanets.upload_steps import import_upload, jsonl, upload_file, visible_text
from tests.support.factories import make_datanet, make_rows, make_user

pytestmark = pytest.mark.django_db

SHELLS = [{"prompt": f"What shell is number {i}?", "completion": f"A cowrie, kind {i}."} for i in range(4)]


@pytest.fixture
def beach():
    """A contributor's three rows: one approved (and in v1), one rejected with a reason, one waiting."""
    owner, contributor = make_user("beach_owner"), make_user("shell_collector")
    datanet = make_datanet(owner=owner, slug="shells", title="Shells")
    approved, rejected, waiting = make_rows(
        datanet, 3, contributor=contributor, status=Row.Status.PENDING, prefix="shell"
    )
    rows_review(datanet=datanet, reviewer=owner, row_ids=[approved.pk], approve=True)
    rows_review(
        datanet=datanet, reviewer=owner, row_ids=[rejected.pk], approve=False, reason="this shell is a pebble"
    )
    version_publish(datanet=datanet)
    return datanet, contributor, {"approved": approved, "rejected": rejected, "pending": waiting}


def test_my_contributions_lists_my_rows_with_their_status_and_the_versions_they_are_in(client, beach):
    datanet, contributor, rows = beach
    make_rows(datanet, 2, contributor=make_user("someone_else"), prefix="not mine")
    client.force_login(contributor)

    page = client.get("/datanets/contributions/").content.decode()
    text = visible_text(page)

    assert page.count('data-testid="my-row"') == 3
    assert "not mine" not in text
    assert "All (3) Pending (1) Approved (1) Rejected (1)" in text
    assert f"{rows['approved'].content['prompt']}" in text
    assert 'href="/datanets/shells/versions/">v1</a>' in page


def test_filtering_by_status_shows_only_those_rows(client, beach):
    _, contributor, rows = beach
    client.force_login(contributor)

    rejected = visible_text(client.get("/datanets/contributions/", {"status": "rejected"}).content.decode())
    pending = visible_text(client.get("/datanets/contributions/", {"status": "pending"}).content.decode())

    assert rows["rejected"].content["prompt"] in rejected
    assert rows["approved"].content["prompt"] not in rejected
    assert rows["pending"].content["prompt"] in pending
    assert "waiting for review" in pending
    assert rows["rejected"].content["prompt"] not in pending


def test_a_rejection_reason_is_seen_by_its_contributor_and_the_owner_and_nobody_else(client, beach):
    datanet, contributor, _ = beach
    reason = "this shell is a pebble"

    client.force_login(contributor)
    assert reason in client.get("/datanets/contributions/").content.decode()

    client.force_login(datanet.owner)
    assert reason in client.get("/datanets/shells/", {"status": "rejected"}).content.decode()

    client.force_login(make_user("passer_by"))
    assert reason not in client.get("/datanets/shells/", {"status": "rejected"}).content.decode()
    assert reason not in client.get("/datanets/shells/rows/", {"status": "rejected"}).content.decode()
    assert reason not in client.get("/datanets/contributions/").content.decode()
    client.logout()
    assert reason not in client.get("/datanets/shells/", {"status": "rejected"}).content.decode()


def test_a_contributors_upload_says_its_rows_wait_for_review_and_the_owners_says_they_were_added(client):
    owner, contributor = make_user("dune_owner"), make_user("dune_walker")
    datanet = make_datanet(owner=owner, slug="dunes")

    client.force_login(contributor)
    theirs = upload_file(client, datanet, "shells.jsonl", jsonl([*SHELLS, {"prompt": "no answer"}]))
    import_upload(client, theirs, prompt="prompt", completion="completion")
    contributor_sees = visible_text(client.get(f"/datanets/dunes/uploads/{theirs.pk}/").content.decode())
    client.force_login(owner)
    owner_rows = [{"prompt": "Are dunes moving?", "completion": "A few metres a year."}]
    mine = upload_file(client, datanet, "mine.jsonl", jsonl(owner_rows))
    import_upload(client, mine, prompt="prompt", completion="completion")
    owner_sees = visible_text(client.get(f"/datanets/dunes/uploads/{mine.pk}/").content.decode())

    assert "4 rows received, waiting for the owner's review; 1 rejected." in contributor_sees
    assert "Imported" not in contributor_sees
    assert "1 row added." in owner_sees


def test_an_upload_whose_every_row_was_rejected_says_nothing_was_added(client):
    datanet = make_datanet(slug="empty-handed")
    client.force_login(make_user("unlucky"))
    up = upload_file(client, datanet, "bad.jsonl", jsonl([{"prompt": "", "completion": "an answer"}]))

    import_upload(client, up, prompt="prompt", completion="completion")

    text = visible_text(client.get(f"/datanets/empty-handed/uploads/{up.pk}/").content.decode())
    assert "No row was added: 1 row rejected. The datanet is unchanged." in text


def test_what_my_rows_earned_is_shown_per_datanet(client, beach):
    datanet, contributor, _ = beach
    credited_answer(datanet=datanet, contributor=contributor, amount=OPEN // 4)
    credited_answer(datanet=datanet, contributor=make_user("other_diver"), amount=OPEN)
    client.force_login(contributor)

    text = visible_text(client.get("/datanets/contributions/").content.decode())

    assert "What your rows earned" in text
    assert "shells : 0.25 OPEN" in text


def test_someone_without_contributions_is_told_how_to_start(client):
    client.force_login(make_user("newcomer"))

    text = visible_text(client.get("/datanets/contributions/").content.decode())

    assert "You have not contributed yet" in text
    assert "What your rows earned" not in text


def test_my_contributions_needs_a_login_and_is_never_mistaken_for_a_datanet(client):
    make_datanet(slug="contributions-archive")

    response = client.get("/datanets/contributions/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
