"""A task message that kills its worker comes back at most three times, then its row fails with the reason.

The attack: tasks are acks_late with reject_on_worker_lost, so an upload whose import exhausts its worker's
memory (a Parquet file whose 50 MB decompress to gigabytes was enough) was delivered again to the next
worker, for ever, taking down each time the worker that also runs everyone else's tasks; a training job
that crashed its worker held the single trainer the same way. Every start is now counted in the row
(upload, job, merged export, adapter import) before the work begins, and the start after the third fails
the row with "the worker died 3 times while ...".

The upload test kills a real worker's pool process three times while it imports (what the kernel's
out-of-memory killer does), and Celery itself redelivers. The others drive the redelivery path through the
services the tasks call, from the state three deaths leave (three starts counted, nothing finished):
training a job or merging a model on a worker that is then killed costs minutes per death here.
"""

from __future__ import annotations

import json
import os
import signal
import zipfile
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from datanets.models import Upload
from modelfactory.catalog.models import AdapterImport, BaseModel
from modelfactory.catalog.services import adapter_import_run
from modelfactory.finetuning.export_services import merged_export_run
from modelfactory.finetuning.models import FineTuneJob
from modelfactory.finetuning.services import job_claim, job_resume, job_run, jobs_recover_stalled
from tests.datanets.upload_steps import visible_text
from tests.finetuning.jobs_support import register_tiny, sums_datanet, walk_wizard
from tests.support.factories import make_datanet, make_user
from tests.support.processes import wait_until
from tests.support.workers import app_broker, celery_worker, pool_processes, worker_log

DIED_THREE_TIMES = "the worker died 3 times while"


@pytest.mark.django_db(transaction=True)
@pytest.mark.services
def test_an_upload_that_kills_its_worker_three_times_fails_with_the_reason(
    client, settings, redis_url, tmp_path
):
    settings.MODELFACTORY_UPLOAD_INLINE_BYTES = 1_000
    owner = make_user("poisoned_owner")
    datanet = make_datanet(owner=owner, slug="poisoned")
    client.force_login(owner)
    rows = [{"text": f"Field note number {i}: a heron stood in the reeds at dawn."} for i in range(40_000)]
    data = "".join(json.dumps(row) + "\n" for row in rows).encode()
    client.post("/datanets/poisoned/upload/", {"file": SimpleUploadedFile("notes.jsonl", data)})
    upload = Upload.objects.get()
    log = tmp_path / "worker.log"

    def attempts() -> int:
        return Upload.objects.values_list("attempts", flat=True).get(pk=upload.pk)

    # One pool process, as a worker host runs it: the main process stays, its child is what dies.
    with (
        app_broker(redis_url),
        celery_worker(redis_url, log, name="poisoned", pool="prefork", concurrency=1) as worker,
    ):
        client.post(
            f"/datanets/poisoned/uploads/{upload.pk}/",
            {"mode": "valid_rows", "import": "1", "map_text": "text"},
        )
        for death in (1, 2, 3):
            try:
                wait_until(
                    lambda d=death: attempts() == d, timeout_s=120, what=f"import attempt {death} to start"
                )
            except TimeoutError:
                pytest.fail(worker_log(log))
            for pid in pool_processes(worker):
                os.kill(pid, signal.SIGKILL)  # mid-import, its transaction open
        try:
            wait_until(
                lambda: Upload.objects.get(pk=upload.pk).status != Upload.Status.IMPORTING,
                timeout_s=120,
                what="the fourth delivery to fail the upload",
            )
        except TimeoutError:
            pytest.fail(worker_log(log))

    upload.refresh_from_db()
    assert (upload.status, upload.attempts) == (Upload.Status.FAILED, 4), (upload.error, worker_log(log))
    assert upload.error == "the worker died 3 times while importing this file"
    assert "WorkerLostError" in worker_log(log)  # Celery saw each death and gave the message back
    assert datanet.rows.count() == 0
    page = visible_text(client.get(f"/datanets/poisoned/uploads/{upload.pk}/").content.decode())
    assert "Nothing was imported: the worker died 3 times while importing this file." in page


@pytest.fixture
def tiny_job(client, use_tiny_base_model):
    owner = make_user("job_owner")
    client.force_login(owner)
    _, version = sums_datanet(owner)
    walk_wizard(
        client, base_model=register_tiny(use_tiny_base_model), version=version, max_steps=2, save_every=1
    )
    return FineTuneJob.objects.get()


def die_three_times(job: FineTuneJob) -> None:
    """Three workers claim the job and die: each claim is real, the death is its heartbeat going stale."""
    for attempt in (1, 2, 3):
        assert job_claim(job_id=job.pk, worker=f"doomed-{attempt}@host")
        FineTuneJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))


@pytest.mark.django_db
def test_a_job_whose_workers_keep_dying_is_not_queued_again_by_the_stalled_job_recovery(client, tiny_job):
    die_three_times(tiny_job)

    recovered = jobs_recover_stalled()

    tiny_job.refresh_from_db()
    assert recovered == []
    assert (tiny_job.status, tiny_job.error) == (
        FineTuneJob.Status.FAILED,
        "the worker died 3 times while training this job",
    )
    assert DIED_THREE_TIMES in client.get(f"/finetune/jobs/{tiny_job.pk}/").content.decode()


@pytest.mark.django_db
def test_a_redelivered_job_whose_workers_keep_dying_fails_instead_of_training_and_resume_starts_afresh(
    client, tiny_job
):
    die_three_times(tiny_job)

    job_run(job_id=tiny_job.pk, worker="fourth@host")  # Celery's redelivery after the third death

    tiny_job.refresh_from_db()
    assert (tiny_job.status, tiny_job.step) == (FineTuneJob.Status.FAILED, 0)
    assert tiny_job.error == "the worker died 3 times while training this job"
    job_resume(job=tiny_job, user=tiny_job.owner)  # the owner decides to try again: three more attempts
    tiny_job.refresh_from_db()
    assert (tiny_job.status, tiny_job.attempts, tiny_job.error) == (FineTuneJob.Status.QUEUED, 0, "")


@pytest.mark.django_db
def test_a_merged_export_whose_workers_keep_dying_fails_with_the_reason(client, tmp_path):
    owner = make_user("merger")
    base = BaseModel.objects.create(
        name="b", source="/nowhere", architecture="LlamaForCausalLM", model_type="llama"
    )
    job = FineTuneJob.objects.create(
        owner=owner,
        name="merge me",
        base_model=base,
        spec={},
        output_dir=str(tmp_path / "job"),
        status=FineTuneJob.Status.SUCCEEDED,
        merged_status="exporting",
        merged_attempts=3,  # three merges started, none finished: each worker died loading the model
    )

    merged_export_run(job_id=job.pk)  # the fourth delivery

    job.refresh_from_db()
    assert (job.merged_status, job.merged_error) == (
        "failed",
        "the worker died 3 times while merging this model",
    )
    client.force_login(owner)
    assert DIED_THREE_TIMES in client.get(f"/finetune/jobs/{job.pk}/").content.decode()


@pytest.mark.django_db
def test_an_adapter_import_whose_workers_keep_dying_fails_and_its_zip_is_deleted(client, settings, tmp_path):
    owner = make_user("importer")
    base = BaseModel.objects.create(
        name="b", source="/nowhere", architecture="LlamaForCausalLM", model_type="llama"
    )
    stored = settings.VAR_DIR / "adapter-imports" / "poison" / "adapter.zip"
    stored.parent.mkdir(parents=True)
    with zipfile.ZipFile(stored, "w") as archive:
        archive.writestr("adapter_config.json", "{}")
        archive.writestr("adapter_model.safetensors", b"\0" * 16)
    started = AdapterImport.objects.create(
        owner=owner,
        base_model=base,
        api_name="poison",
        title="Poison",
        access="public",
        filename="poison.zip",
        stored_path=str(stored),
        size_bytes=stored.stat().st_size,
        status=AdapterImport.Status.IMPORTING,
        attempts=3,
    )

    adapter_import_run(import_id=started.pk)  # the fourth delivery

    started.refresh_from_db()
    assert (started.status, started.error) == (
        AdapterImport.Status.FAILED,
        "the worker died 3 times while importing this adapter",
    )
    assert not stored.exists()
    client.force_login(owner)
    assert DIED_THREE_TIMES in client.get(f"/models/imports/{started.pk}/").content.decode()
