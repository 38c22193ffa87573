"""Importing an adapter zip through the import page, then running the import as the worker would.

The page only stores the zip and queues `catalog.tasks.import_adapter`; tests that need the published
model run the task's service in this process (`adapter_import_run`, what the worker calls). The tests of
the worker itself (`tests/security/test_adapter_zip_import_is_bounded.py`) start a real one.
"""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from modelfactory.catalog.models import AdapterImport
from modelfactory.catalog.services import adapter_import_run


def import_form(api_name: str, data: bytes, base_model, **fields) -> dict:
    return {
        "api_name": api_name,
        "title": api_name,
        "description": "",
        "access": "public",
        "base_model": base_model.pk,
        "file": SimpleUploadedFile(f"{api_name}.zip", data),
        **fields,
    }


def post_import(client, api_name: str, data: bytes, base_model, **fields):
    """POST the import form; the response is a redirect to the import's page, or the form with errors."""
    return client.post("/models/import/", import_form(api_name, data, base_model, **fields))


def import_and_run(client, api_name: str, data: bytes, base_model, **fields) -> AdapterImport:
    """Import through the page and run the queued import here; the import row as it ended."""
    response = post_import(client, api_name, data, base_model, **fields)
    assert response.status_code == 302, response.content.decode()[-1500:]
    started = AdapterImport.objects.get(api_name=api_name, status=AdapterImport.Status.QUEUED)
    assert response["Location"] == f"/models/imports/{started.pk}/"
    adapter_import_run(import_id=started.pk)
    started.refresh_from_db()
    return started
