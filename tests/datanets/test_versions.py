from __future__ import annotations

import json

import pytest

from datanets.merkle import merkle_root
from datanets.models import Row
from datanets.services import rows_review, version_publish
from tests.support.factories import make_datanet, make_rows, make_user

pytestmark = pytest.mark.django_db


def test_a_version_snapshots_approved_rows_and_never_changes_afterwards():
    datanet = make_datanet()
    make_rows(datanet, 4, prefix="first")
    pending = make_rows(datanet, 2, status=Row.Status.PENDING, prefix="later")

    v1 = version_publish(datanet=datanet)
    rows_review(datanet=datanet, reviewer=datanet.owner, row_ids=[r.pk for r in pending], approve=True)
    v2 = version_publish(datanet=datanet, notes="two more")

    v1.refresh_from_db()
    assert (v1.number, v1.row_count, v1.rows.count()) == (1, 4, 4)
    assert (v2.number, v2.row_count, v2.added_count, v2.removed_count) == (2, 6, 2, 0)
    assert v1.merkle_root == merkle_root(list(v1.rows.values_list("content_hash", flat=True)))
    assert v1.merkle_root != v2.merkle_root


def test_exported_version_loads_unchanged_with_datasets(client, tmp_path):
    datasets = pytest.importorskip("datasets")
    datanet = make_datanet()
    rows = make_rows(datanet, 5, contributor=make_user("writer"))
    version_publish(datanet=datanet)

    response = client.get(f"/datanets/{datanet.slug}/versions/1/export.jsonl")
    path = tmp_path / "export.jsonl"
    path.write_bytes(b"".join(response.streaming_content))
    loaded = datasets.load_dataset("json", data_files=str(path), split="train")

    assert loaded.num_rows == 5
    assert loaded[0]["prompt"] == rows[0].content["prompt"]
    assert loaded[0]["contributor"] == "writer"
    assert [json.loads(line)["row_id"] for line in path.read_text().splitlines()] == [r.pk for r in rows]


def test_a_version_with_no_approved_rows_is_refused_with_what_to_do_and_nothing_is_published(client):
    datanet = make_datanet()
    make_rows(datanet, 2, status=Row.Status.PENDING, prefix="waiting")
    client.force_login(datanet.owner)

    response = client.post(f"/datanets/{datanet.slug}/versions/publish/", {"notes": "too early"}, follow=True)

    assert "has no approved rows yet: approve or add rows" in response.content.decode()
    assert not datanet.versions.exists()
