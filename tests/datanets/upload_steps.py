"""The upload wizard's steps as a browser takes them, for tests that walk it through HTTP."""

from __future__ import annotations

import html
import json
import re

from django.core.files.uploadedfile import SimpleUploadedFile

from datanets.models import Datanet, Upload


def jsonl(records: list) -> bytes:
    return "".join(json.dumps(record) + "\n" for record in records).encode()


def upload_file(client, datanet: Datanet, name: str, data: bytes) -> Upload:
    """Step 1: send the file; the wizard answers with a redirect to its preview."""
    response = client.post(f"/datanets/{datanet.slug}/upload/", {"file": SimpleUploadedFile(name, data)})
    assert response.status_code == 302, response.content.decode()[:500]
    return Upload.objects.filter(datanet=datanet).latest("created")


def import_upload(client, upload: Upload, *, mode: str = "valid_rows", **mapping: str):
    """Step 3: confirm the mapping and the mode; small files import at once."""
    data = {"mode": mode, "import": "1", **{f"map_{part}": column for part, column in mapping.items()}}
    return client.post(f"/datanets/{upload.datanet.slug}/uploads/{upload.pk}/", data)


def visible_text(page: str) -> str:
    """The page's words on one line: tags dropped, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())
