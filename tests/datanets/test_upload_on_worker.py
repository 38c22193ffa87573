"""A large upload imports on a real Celery worker (Redis broker) while the page shows its progress."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from datanets.models import Upload
from tests.support.factories import make_datanet, make_user
from tests.support.processes import wait_until
from tests.support.workers import app_broker, celery_worker, worker_log

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


def test_a_large_upload_is_imported_by_a_worker_and_the_page_follows_it(
    client, settings, redis_url, tmp_path
):
    settings.MODELFACTORY_UPLOAD_INLINE_BYTES = 1_000
    owner = make_user("bulk_owner")
    datanet = make_datanet(owner=owner, slug="bulk")
    client.force_login(owner)
    rows = [{"text": f"Field note number {i}: a heron stood in the reeds."} for i in range(5_000)]
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    client.post("/datanets/bulk/upload/", {"file": SimpleUploadedFile("notes.jsonl", data)})
    up = Upload.objects.get()
    log = tmp_path / "worker.log"

    with app_broker(redis_url), celery_worker(redis_url, log, name="importer"):
        client.post(
            f"/datanets/bulk/uploads/{up.pk}/", {"mode": "valid_rows", "import": "1", "map_text": "text"}
        )
        page = client.get(f"/datanets/bulk/uploads/{up.pk}/", headers={"HX-Request": "true"}).content.decode()
        assert 'hx-trigger="every 1s"' in page or "rows added" in page
        wait_until(
            lambda: Upload.objects.get(pk=up.pk).status != Upload.Status.IMPORTING,
            timeout_s=120,
            what="the worker to finish the import",
        )

    up.refresh_from_db()
    assert up.status == Upload.Status.IMPORTED, (up.error, worker_log(log))
    assert datanet.rows.count() == 5_000
    assert "5,000 rows added" in client.get(f"/datanets/bulk/uploads/{up.pk}/").content.decode()
