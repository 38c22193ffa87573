"""A finished job's page: its data counts as the manifest has them, the manifest as JSON, the merged
model as a download for its owner alone, and "Resume" only where there is a checkpoint to resume from."""

from __future__ import annotations

import html
import io
import json
import re
import zipfile
from pathlib import Path

import pytest

from modelfactory.finetuning.export_services import merged_export_run
from modelfactory.finetuning.models import FineTuneJob
from modelfactory.finetuning.services import job_cancel, job_run
from tests.finetuning.jobs_support import FAST, register_tiny, sums_datanet, train_tiny_job, walk_wizard
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db

SHORT = 22
"""Tokens: long enough to keep every sums row's answer, short enough to cut some rows' endings."""


@pytest.fixture
def owner(client):
    user = make_user("job_owner")
    client.force_login(user)
    return user


def text_of(page: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</', page, re.S)
    assert match, f"no {testid} on the page"
    return html.unescape(match.group(1))


def review_page(client, *, base, version, **method) -> str:
    """The wizard's review step for ``version`` with the Quick preset and ``method`` changes."""
    client.post("/finetune/new/base/", {"base_model": base.pk})
    client.post("/finetune/new/data/", {"eval_percent": 15, f"version_{version.datanet_id}": version.pk})
    fields = {"preset": "quick", "shown_preset": "quick", **FAST, "max_steps": 2, **method}
    assert client.post("/finetune/new/method/", fields).status_code == 302
    return client.get("/finetune/new/review/").content.decode()


def test_the_rows_cut_at_the_length_limit_are_counted_as_the_review_warned_and_the_manifest_says(
    client, owner, use_tiny_base_model
):
    _, version = sums_datanet(owner)
    base = register_tiny(use_tiny_base_model)
    review = review_page(client, base=base, version=version, max_seq_length=SHORT)
    client.post("/finetune/new/review/", {"name": "short rows", "gpus": 0})
    job = FineTuneJob.objects.get()
    job_run(job_id=job.pk, worker="w@host")
    job.refresh_from_db()

    page = client.get(f"/finetune/jobs/{job.pk}/").content.decode()

    data = job.manifest["data"]
    cut = data["truncated_rows"]
    assert 0 < cut < data["train_rows"] + data["eval_rows"]
    assert text_of(page, "truncated-rows").startswith(f"{cut} rows")
    assert f"{cut} row(s) are longer than the maximum sequence length ({SHORT} tokens)" in review


def test_the_manifest_is_shown_as_json_that_parses_back_to_the_manifest(client, owner, use_tiny_base_model):
    job = train_tiny_job(client, owner, use_tiny_base_model)

    page = client.get(f"/finetune/jobs/{job.pk}/").content.decode()

    assert json.loads(text_of(page, "manifest")) == job.manifest


def test_a_stopped_job_with_a_checkpoint_offers_to_resume_from_its_step(client, owner, use_tiny_base_model):
    job = train_tiny_job(client, owner, use_tiny_base_model, max_steps=4)
    FineTuneJob.objects.filter(pk=job.pk).update(status=FineTuneJob.Status.FAILED, error="worker lost")

    page = client.get(f"/finetune/jobs/{job.pk}/").content.decode()
    resumed = client.post(f"/finetune/jobs/{job.pk}/resume/", follow=True).content.decode()

    assert text_of(page, "resume") == "Resume from step 4"
    assert "Start again" not in page
    assert "training continues from the checkpoint at step 4" in resumed


def test_a_job_stopped_before_any_checkpoint_offers_to_start_again_not_to_resume(
    client, owner, use_tiny_base_model
):
    _, version = sums_datanet(owner)
    walk_wizard(
        client, base_model=register_tiny(use_tiny_base_model), version=version, max_steps=4, save_every=2
    )
    job = job_cancel(job=FineTuneJob.objects.get(), user=owner)

    page = client.get(f"/finetune/jobs/{job.pk}/").content.decode()
    queued = client.post(f"/finetune/jobs/{job.pk}/resume/", follow=True).content.decode()

    assert 'data-testid="resume"' not in page
    assert "Start again" in page
    assert "no checkpoint was saved, so training starts from the beginning" in queued


def test_the_merged_model_downloads_as_a_zip_for_its_owner_and_is_not_found_for_anyone_else(
    client, owner, use_tiny_base_model
):
    job = train_tiny_job(client, owner, use_tiny_base_model)
    url = f"/finetune/jobs/{job.pk}/merged.zip"
    before_export = client.get(url)
    FineTuneJob.objects.filter(pk=job.pk).update(merged_status="exporting")  # as the button does
    merged_export_run(job_id=job.pk)

    page = client.get(f"/finetune/jobs/{job.pk}/").content.decode()
    response = client.get(url)
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    client.force_login(make_user("stranger"))
    strangers = client.get(url)

    merged = Path(job.output_dir) / "merged"
    assert before_export.status_code == 404
    assert 'data-testid="merged-download"' in page
    assert "/merged</code>" not in page  # no server path in place of a download
    assert response["Content-Disposition"] == f'attachment; filename="merged-job-{job.pk}.zip"'
    assert set(archive.namelist()) == {p.name for p in merged.iterdir()} | {"manifest.json"}
    assert archive.read("config.json") == (merged / "config.json").read_bytes()
    assert strangers.status_code == 404
