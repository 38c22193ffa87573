"""The daily upload quota is reserved atomically (two uploads at once cannot both take its last room),
and an upload's file is removed once it is imported or discarded, so disks hold only pending work."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from datanets.errors import UploadRefused
from datanets.models import Upload
from datanets.upload_services import upload_discard, upload_receive
from tests.datanets.upload_steps import import_upload, jsonl, upload_file
from tests.support.factories import make_datanet, make_user

ROWS = [
    {"prompt": f"How do I fold napkin style {i}?", "completion": f"Fold it in style {i}."} for i in range(5)
]


@pytest.mark.django_db(transaction=True)
def test_two_uploads_sent_at_once_cannot_both_take_the_last_room_in_the_daily_quota(settings):
    data = jsonl(ROWS)
    settings.MODELFACTORY_UPLOAD_DAILY_QUOTA_BYTES = len(data) * 3 // 2  # room for one of them, not two
    datanet, uploader = make_datanet(), make_user("racer")
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def send(name: str) -> None:
        try:
            start.wait()
            upload_receive(datanet=datanet, uploader=uploader, file=SimpleUploadedFile(name, data))
            outcomes.append("stored")
        except UploadRefused:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(f"{n}.jsonl",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(outcomes) == ["refused", "stored"]
    assert Upload.objects.filter(uploader=uploader).count() == 1


@pytest.mark.django_db
def test_an_imported_or_discarded_upload_leaves_no_file_behind(client):
    owner = make_user("napkin_owner")
    datanet = make_datanet(owner=owner, slug="napkins")
    client.force_login(owner)

    imported = upload_file(client, datanet, "rows.jsonl", jsonl(ROWS))
    stored = Path(imported.stored_path)
    assert stored.exists()
    import_upload(client, imported, prompt="prompt", completion="completion")
    discarded = upload_file(client, datanet, "again.jsonl", jsonl(ROWS[:2]))
    upload_discard(upload=discarded, user=owner)

    imported.refresh_from_db()
    assert imported.status == Upload.Status.IMPORTED
    assert not stored.exists()
    assert not Path(discarded.stored_path).exists()
