"""A Parquet upload is refused for what it would decompress to, before the rows are decompressed.

The attack: the upload limit (50 MB) applied to the file on disk, while Parquet is compressed and encoded.
A 100 KB file declaring 2 GB of text, or a small one whose rows all reference one huge dictionary string,
was expanded whole by pyarrow on the worker (or by the preview, in the web process), enough to kill it,
and its message came back to the next worker. Its metadata is now checked before any row is read (rows,
uncompressed bytes, values), and what it decodes to is counted batch by batch before Python sees it.
"""

from __future__ import annotations

import struct

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datanets.models import Upload
from tests.datanets.upload_steps import upload_file, visible_text
from tests.support.factories import make_datanet, make_user

pytestmark = pytest.mark.django_db

MEGABYTE = 1 << 20


def one_string_many_times(count: int, size: int) -> pa.Array:
    """``count`` rows of the same ``size``-byte text, held once in memory (string views share a buffer)."""
    data = pa.py_buffer(b"a" * size)
    views = pa.py_buffer(struct.pack("<i4sii", size, b"aaaa", 0, 0) * count)
    return pa.Array.from_buffers(pa.string_view(), count, [None, views, data])


def parquet_bytes(table: pa.Table, tmp_path, **options) -> bytes:
    path = tmp_path / "rows.parquet"
    pq.write_table(table, path, compression="zstd", **options)
    return path.read_bytes()


@pytest.fixture
def owner(client):
    user = make_user("parquet_owner")
    client.force_login(user)
    return user


def refusal_shown(client, upload: Upload) -> str:
    """The wizard's page after the upload: the preview, or the reason nothing can be imported."""
    return visible_text(client.get(f"/datanets/{upload.datanet.slug}/uploads/{upload.pk}/").content.decode())


def test_a_parquet_file_whose_metadata_declares_gigabytes_is_refused_before_reading(client, owner, tmp_path):
    datanet = make_datanet(owner=owner, slug="declared")
    text = one_string_many_times(2100, MEGABYTE)  # 2.1 GB of text, zstd-compressed to about 100 KB
    data = parquet_bytes(pa.table({"text": text}), tmp_path, use_dictionary=False, row_group_size=32)
    assert len(data) < 200_000

    upload = upload_file(client, datanet, "small.parquet", data)
    page = refusal_shown(client, upload)

    upload.refresh_from_db()
    assert upload.status == Upload.Status.FAILED
    assert "The Parquet file declares 2100.0 MB once decompressed" in upload.error
    assert "the limit is 512.0 MB per file" in upload.error
    assert "Nothing was imported: The Parquet file declares 2100.0 MB" in page
    assert datanet.rows.count() == 0


def test_a_parquet_file_declaring_more_rows_than_allowed_is_refused_before_reading(
    client, owner, settings, tmp_path
):
    settings.MODELFACTORY_UPLOAD_MAX_ROWS = 10
    datanet = make_datanet(owner=owner, slug="many-rows")
    data = parquet_bytes(pa.table({"text": [f"row {i}" for i in range(11)]}), tmp_path)

    upload = upload_file(client, datanet, "rows.parquet", data)
    refusal_shown(client, upload)

    upload.refresh_from_db()
    assert upload.error.startswith("The Parquet file declares 11 rows; the limit is 10 per file.")


def test_rows_sharing_one_huge_dictionary_string_are_refused_before_it_is_expanded(client, owner, tmp_path):
    """Dictionary encoding stores a value once and every row's index in a few bits: 2,100 rows of one 1 MB
    string are 2 GB once expanded but about 1 MB in the metadata's sizes. Text columns are read still
    encoded, and the first batch's expanded size (1,024 MB) is over the limit before Python sees a row."""
    datanet = make_datanet(owner=owner, slug="dictionary")
    text = pa.DictionaryArray.from_arrays(pa.array([0] * 2100, pa.int32()), pa.array(["a" * MEGABYTE]))
    data = parquet_bytes(pa.table({"text": text}), tmp_path)
    metadata = pq.read_metadata(pa.BufferReader(data))
    assert metadata.row_group(0).total_byte_size < 2 * MEGABYTE  # the declared sizes let it through

    upload = upload_file(client, datanet, "shared.parquet", data)
    refusal_shown(client, upload)

    upload.refresh_from_db()
    assert upload.status == Upload.Status.FAILED
    assert upload.error.startswith(
        "The Parquet file's first 1,024 rows already decode to more than 512.0 MB, the limit per file."
    )


def test_an_ordinary_parquet_upload_still_previews_and_imports(client, owner, tmp_path):
    datanet = make_datanet(owner=owner, slug="ordinary")
    rows = [f"Field note {i}: a heron stood in the reeds." for i in range(300)]
    data = parquet_bytes(pa.table({"text": pa.array(rows).dictionary_encode()}), tmp_path)

    upload = upload_file(client, datanet, "notes.parquet", data)
    assert "Field note 0" in refusal_shown(client, upload)
    client.post(
        f"/datanets/ordinary/uploads/{upload.pk}/", {"mode": "valid_rows", "import": "1", "map_text": "text"}
    )

    upload.refresh_from_db()
    assert (upload.status, upload.accepted_count) == (Upload.Status.IMPORTED, 300), upload.error
