"""The upload wizard end to end through HTTP: preview, mapping, all-or-nothing, rejections, limits."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from datanets.errors import UploadRefused
from datanets.models import Row, Upload
from datanets.upload_services import upload_receive, upload_run_import
from tests.support.factories import make_datanet, make_rows, make_user

pytestmark = pytest.mark.django_db

GOOD = [
    {"prompt": f"How do I fold napkin style {i}?", "completion": f"Fold it in style {i}."} for i in range(5)
]


def jsonl(records: list) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


@pytest.fixture
def owner_client(client):
    owner = make_user("napkin_owner")
    datanet = make_datanet(owner=owner, slug="napkins")
    client.force_login(owner)
    return client, datanet


def upload(client, datanet, name: str, data: bytes):
    response = client.post(f"/datanets/{datanet.slug}/upload/", {"file": SimpleUploadedFile(name, data)})
    assert response.status_code == 302, response.content.decode()[:500]
    return Upload.objects.latest("created")


def choose(client, up, *, mode: str, **mapping):
    data = {"mode": mode, "import": "1", **{f"map_{k}": v for k, v in mapping.items()}}
    return client.post(f"/datanets/{up.datanet.slug}/uploads/{up.pk}/", data)


def test_preview_shows_the_detected_format_and_first_rows_and_writes_nothing(owner_client):
    client, datanet = owner_client
    up = upload(client, datanet, "rows.jsonl", jsonl(GOOD))

    page = client.get(f"/datanets/napkins/uploads/{up.pk}/").content.decode()

    assert "Detected: prompt_completion" in page
    assert "napkin style 3" in page
    assert datanet.rows.count() == 0


def test_all_or_nothing_import_with_one_bad_row_leaves_the_datanet_unchanged_and_offers_the_rejections(
    owner_client,
):
    client, datanet = owner_client
    up = upload(client, datanet, "rows.jsonl", jsonl([*GOOD, {"prompt": "", "completion": "no question"}]))

    choose(client, up, mode="all_or_nothing", prompt="prompt", completion="completion")

    up.refresh_from_db()
    assert up.status == Upload.Status.DISCARDED
    assert up.rejected_count == 1
    assert datanet.rows.count() == 0
    rejected = b"".join(client.get(f"/datanets/napkins/uploads/{up.pk}/rejected.jsonl").streaming_content)
    record = json.loads(rejected.decode().splitlines()[0])
    assert record["line"] == 6
    assert "prompt" in record["reason"]


def test_valid_rows_mode_imports_the_good_rows_and_keeps_the_rejections_for_download(owner_client):
    client, datanet = owner_client
    up = upload(client, datanet, "rows.jsonl", jsonl([*GOOD, {"prompt": "only a prompt"}]))

    choose(client, up, mode="valid_rows", prompt="prompt", completion="completion")

    up.refresh_from_db()
    assert (up.status, up.accepted_count, up.rejected_count) == (Upload.Status.IMPORTED, 5, 1)
    assert datanet.rows.filter(status=Row.Status.APPROVED, upload=up).count() == 5


def test_rows_uploaded_by_a_contributor_wait_for_review_and_carry_their_wallet(client):
    datanet = make_datanet(slug="shared-napkins")
    contributor = make_user("folder")
    client.force_login(contributor)
    up = upload(client, datanet, "rows.jsonl", jsonl(GOOD))

    choose(client, up, mode="valid_rows", prompt="prompt", completion="completion")

    rows = datanet.rows.all()
    assert {row.status for row in rows} == {Row.Status.PENDING}
    assert {row.wallet_address for row in rows} == {contributor.wallet_address}


def test_csv_with_unknown_columns_asks_for_a_mapping_and_imports_with_it(owner_client):
    client, datanet = owner_client
    csv = b"question,reply\nWhat is a bishop fold?,A tall pointed fold.\nWhat is a fan fold?,Pleats.\n"
    up = upload(client, datanet, "faq.csv", csv)

    page = client.get(f"/datanets/napkins/uploads/{up.pk}/").content.decode()
    choose(client, up, mode="all_or_nothing", prompt="question", completion="reply")

    assert "Column mapping" in page
    assert sorted(r.content["prompt"] for r in datanet.rows.all()) == [
        "What is a bishop fold?",
        "What is a fan fold?",
    ]


def test_rows_already_in_the_datanet_are_rejected_as_duplicates(owner_client):
    client, datanet = owner_client
    existing = make_rows(datanet, 1, prefix="dup")[0]
    up = upload(client, datanet, "rows.jsonl", jsonl([existing.content, *GOOD]))

    choose(client, up, mode="valid_rows", prompt="prompt", completion="completion")

    up.refresh_from_db()
    assert (up.accepted_count, up.rejected_count) == (5, 1)


def test_a_file_over_the_size_limit_is_refused_before_anything_is_stored(owner_client, settings):
    client, _ = owner_client
    settings.MODELFACTORY_UPLOAD_MAX_BYTES = 100

    response = client.post(
        "/datanets/napkins/upload/", {"file": SimpleUploadedFile("big.jsonl", jsonl(GOOD))}
    )

    assert response.status_code == 200
    assert "files up to" in response.content.decode()
    assert not Upload.objects.exists()


def test_the_daily_quota_stops_an_upload_with_a_clear_message(settings):
    settings.MODELFACTORY_UPLOAD_DAILY_QUOTA_BYTES = 600
    datanet, user = make_datanet(), make_user()
    upload_receive(datanet=datanet, uploader=user, file=SimpleUploadedFile("a.jsonl", jsonl(GOOD)))

    with pytest.raises(UploadRefused, match="daily quota"):
        upload_receive(datanet=datanet, uploader=user, file=SimpleUploadedFile("b.jsonl", jsonl(GOOD)))


def test_a_failure_in_the_middle_of_an_import_leaves_no_row_behind(owner_client, monkeypatch):
    client, datanet = owner_client
    monkeypatch.setattr("datanets.upload_services.BATCH", 2)
    up = upload(client, datanet, "rows.jsonl", jsonl(GOOD))
    calls = {"n": 0}
    original = Row.objects.bulk_create

    def fail_on_second_batch(rows, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return original(rows, *args, **kwargs)

    monkeypatch.setattr(Row.objects, "bulk_create", fail_on_second_batch)
    choose(client, up, mode="valid_rows", prompt="prompt", completion="completion")

    up.refresh_from_db()
    assert up.status == Upload.Status.FAILED
    assert "disk full" in up.error
    assert datanet.rows.count() == 0


def test_running_the_same_import_twice_imports_once(owner_client, settings):
    client, datanet = owner_client
    settings.MODELFACTORY_UPLOAD_INLINE_BYTES = 0  # as for a large file: the import waits for a worker
    up = upload(client, datanet, "rows.jsonl", jsonl(GOOD))
    choose(client, up, mode="valid_rows", prompt="prompt", completion="completion")
    assert Upload.objects.get(pk=up.pk).status == Upload.Status.IMPORTING

    upload_run_import(upload_id=up.pk)
    upload_run_import(upload_id=up.pk)  # a redelivered task message

    assert datanet.rows.count() == 5


def test_someone_else_cannot_see_or_import_my_upload(owner_client):
    client, datanet = owner_client
    up = upload(client, datanet, "rows.jsonl", jsonl(GOOD))
    client.force_login(make_user("snoop"))

    assert client.get(f"/datanets/napkins/uploads/{up.pk}/").status_code == 404
    assert choose(client, up, mode="valid_rows", prompt="prompt", completion="completion").status_code == 404


def test_a_single_row_form_rejects_a_chat_without_an_answer_and_accepts_a_complete_one(client):
    datanet = make_datanet(slug="hand-made")
    client.force_login(make_user("scribe"))

    bad = client.post("/datanets/hand-made/contribute/", {"kind": "messages", "user": "Hi?", "assistant": ""})
    good = client.post(
        "/datanets/hand-made/contribute/", {"kind": "messages", "user": "Hi?", "assistant": "Hello!"}
    )

    assert bad.status_code == 200
    assert 'role="alert"' in bad.content.decode()
    assert good.status_code == 302
    row = datanet.rows.get()
    assert row.status == Row.Status.PENDING
    assert row.content == {
        "messages": [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Hello!"}]
    }
