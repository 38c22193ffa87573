"""No import holds a worker for ever: past its time limit it stops and its row says why.

The attack: an upload or adapter zip crafted to be slow to read (within every size limit) held the worker
that also runs everyone else's tasks for as long as it liked; no Celery task had a time limit. Imports now
check their own deadline while they read (whatever the pool), and Celery's soft and hard limits are set
per task kind for the pools that enforce them; training has none on purpose (see settings).
"""

from __future__ import annotations

import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from datanets.models import Upload
from modelfactory.catalog.models import AdapterImport, BaseModel
from modelfactory.celery import app
from tests.support.adapter_imports import import_and_run
from tests.support.factories import make_datanet, make_user


@pytest.mark.django_db
def test_an_upload_import_past_its_time_limit_stops_and_says_why(client, settings):
    settings.MODELFACTORY_IMPORT_TIME_LIMIT_S = 0
    owner = make_user("slow_owner")
    datanet = make_datanet(owner=owner, slug="slow")
    client.force_login(owner)
    data = "".join(json.dumps({"text": f"Note {i}: the tide came in."}) + "\n" for i in range(2_500)).encode()
    client.post("/datanets/slow/upload/", {"file": SimpleUploadedFile("notes.jsonl", data)})
    upload = Upload.objects.get()

    client.post(
        f"/datanets/slow/uploads/{upload.pk}/", {"mode": "valid_rows", "import": "1", "map_text": "text"}
    )

    upload.refresh_from_db()
    assert upload.status == Upload.Status.FAILED
    assert upload.error == "the import took longer than the 0 s allowed and was stopped; split the file"
    assert datanet.rows.count() == 0  # the rows written before the limit were rolled back with it


@pytest.mark.django_db
def test_an_adapter_import_past_its_time_limit_stops_and_says_why(client, settings, tmp_path):
    settings.MODELFACTORY_IMPORT_TIME_LIMIT_S = 0
    client.force_login(make_user("slow_importer"))
    base = BaseModel.objects.create(
        name="b", source="/nowhere", architecture="LlamaForCausalLM", model_type="llama"
    )
    path = tmp_path / "adapter.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("adapter_config.json", '{"r": 4}')
        archive.writestr("adapter_model.safetensors", b"\0" * 64)

    ended = import_and_run(client, "slow", path.read_bytes(), base)

    assert ended.status == AdapterImport.Status.FAILED
    assert ended.error == "unpacking adapter_config.json took longer than the time allowed for an import"


def test_celery_bounds_imports_and_merges_but_not_training(settings):
    bounded = {
        "datanets.tasks.import_upload": settings.MODELFACTORY_IMPORT_TIME_LIMIT_S,
        "modelfactory.catalog.tasks.import_adapter": settings.MODELFACTORY_IMPORT_TIME_LIMIT_S,
        "modelfactory.finetuning.tasks.export_merged_model": settings.MODELFACTORY_MERGE_TIME_LIMIT_S,
    }
    app.loader.import_default_modules()

    for name, limit in bounded.items():
        task = app.tasks[name]
        assert (task.soft_time_limit, task.time_limit) == (limit, limit + 60), name
        assert (task.acks_late, task.reject_on_worker_lost) == (True, True), name  # capped by attempts
    training = app.tasks["modelfactory.finetuning.tasks.run_finetune_job"]
    assert (training.soft_time_limit, training.time_limit) == (None, None)
