"""The wizard and the job lifecycle, run in-process (the worker side is `job_run`, as a task calls it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelfactory.finetuning.models import FineTuneJob, JobMetric
from modelfactory.finetuning.services import job_cancel, job_resume, job_run, jobs_recover_stalled
from tests.finetuning.jobs_support import register_tiny, sums_datanet, walk_wizard
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_with_data(client, use_tiny_base_model):
    owner = make_user("trainer_owner")
    client.force_login(owner)
    _, version = sums_datanet(owner)
    return owner, version, register_tiny(use_tiny_base_model)


def test_the_wizard_keeps_choices_when_going_back_and_queues_a_job_with_the_pinned_version(
    client, owner_with_data
):
    owner, version, base = owner_with_data

    response = walk_wizard(client, base_model=base, version=version, max_steps=8, save_every=4)
    back = client.get("/finetune/new/data/").content.decode()

    job = FineTuneJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/finetune/jobs/{job.pk}/"
    assert (job.owner, job.status, job.queue) == (owner, FineTuneJob.Status.QUEUED, FineTuneJob.Queue.CPU)
    assert list(job.datanet_versions.all()) == [version]
    assert job.spec["max_steps"] == 8
    assert job.spec["rank"] == 8
    assert "Choose a version" not in back  # the session was cleared after launch: a fresh wizard


def test_review_step_estimates_and_warns_about_a_tiny_dataset(client, owner_with_data):
    _, version, base = owner_with_data
    client.post("/finetune/new/base/", {"base_model": base.pk})
    client.post("/finetune/new/data/", {"eval_percent": 10, f"version_{version.datanet_id}": version.pk})

    page = client.get("/finetune/new/review/").content.decode()

    assert 'data-testid="estimate"' in page
    assert "only 48 rows" in page


def test_qlora_is_refused_on_a_machine_without_a_gpu_with_the_reason(client, owner_with_data):
    _, version, base = owner_with_data
    client.post("/finetune/new/base/", {"base_model": base.pk})
    client.post("/finetune/new/data/", {"eval_percent": 10, f"version_{version.datanet_id}": version.pk})

    page = client.get("/finetune/new/method/").content.decode()
    response = client.post(
        "/finetune/new/method/",
        {
            "preset": "quick",
            "shown_preset": "quick",
            "rank": 8,
            "alpha": 16,
            "dropout": 0,
            "target_modules": "auto",
            "learning_rate": 0.001,
            "scheduler": "constant",
            "epochs": 1,
            "batch_size": 4,
            "max_seq_length": 64,
            "method": "qlora",
        },
    )

    assert 'data-testid="qlora-reason"' in page
    assert response.status_code == 200
    assert "GPU" in response.content.decode()


def test_nobody_trains_on_a_datanet_they_may_not_use(client, use_tiny_base_model):
    stranger = make_user("stranger")
    _, version = sums_datanet()
    version.datanet.visibility = "permissioned"
    version.datanet.save()
    base = register_tiny(use_tiny_base_model)
    client.force_login(stranger)

    client.post("/finetune/new/base/", {"base_model": base.pk})
    response = client.post(
        "/finetune/new/data/", {"eval_percent": 10, f"version_{version.datanet_id}": version.pk}
    )

    assert response.status_code == 200
    assert f"version_{version.datanet_id}" not in response.content.decode()


def test_a_job_trains_records_one_metric_row_per_step_and_stores_its_manifest(client, owner_with_data):
    _, version, base = owner_with_data
    walk_wizard(client, base_model=base, version=version, max_steps=8, save_every=4)
    job = FineTuneJob.objects.get()

    job_run(job_id=job.pk, worker="test@host")

    job.refresh_from_db()
    assert job.status == FineTuneJob.Status.SUCCEEDED, (job.error, job.log_tail)
    steps = list(JobMetric.objects.filter(job=job).values_list("step", flat=True))
    assert steps == list(range(1, 9))
    assert job.manifest["datanets"][0]["merkle_root"] == version.merkle_root
    assert sorted(job.manifest["training_row_ids"] + job.manifest["eval_row_ids"]) == sorted(
        version.rows.values_list("id", flat=True)
    )
    assert job.evaluation["adapter_eval_loss"] < job.evaluation["base_eval_loss"]
    page = client.get(f"/finetune/jobs/{job.pk}/").content.decode()
    assert 'data-testid="evaluation"' in page


def test_a_second_delivery_of_the_same_job_does_nothing(client, owner_with_data):
    _, version, base = owner_with_data
    walk_wizard(client, base_model=base, version=version, max_steps=4, save_every=2)
    job = FineTuneJob.objects.get()
    job_run(job_id=job.pk, worker="first@host")

    job_run(job_id=job.pk, worker="second@host")

    job.refresh_from_db()
    assert (job.status, job.worker, job.attempts) == (FineTuneJob.Status.SUCCEEDED, "first@host", 1)
    assert JobMetric.objects.filter(job=job).count() == 4


def test_cancelling_a_queued_job_stops_it_before_it_starts_and_resume_queues_it_again(
    client, owner_with_data
):
    owner, version, base = owner_with_data
    walk_wizard(client, base_model=base, version=version, max_steps=4, save_every=2)
    job = FineTuneJob.objects.get()

    job_cancel(job=job, user=owner)
    job_run(job_id=job.pk, worker="w@host")
    assert FineTuneJob.objects.get(pk=job.pk).status == FineTuneJob.Status.CANCELLED

    job_resume(job=job, user=owner)
    job_run(job_id=job.pk, worker="w@host")
    assert FineTuneJob.objects.get(pk=job.pk).status == FineTuneJob.Status.SUCCEEDED


def test_a_running_job_whose_worker_went_silent_is_queued_again(owner_with_data, settings, client):
    _, version, base = owner_with_data
    walk_wizard(client, base_model=base, version=version, max_steps=4, save_every=2)
    job = FineTuneJob.objects.get()
    from datetime import timedelta

    from django.utils import timezone

    FineTuneJob.objects.filter(pk=job.pk).update(
        status=FineTuneJob.Status.RUNNING,
        worker="dead@host",
        heartbeat_at=timezone.now() - timedelta(seconds=settings.MODELFACTORY_JOB_STALE_AFTER_S + 1),
    )

    assert jobs_recover_stalled() == [job.pk]
    assert FineTuneJob.objects.get(pk=job.pk).status == FineTuneJob.Status.QUEUED


def test_other_users_cannot_see_or_cancel_my_job(client, owner_with_data):
    _, version, base = owner_with_data
    walk_wizard(client, base_model=base, version=version, max_steps=4, save_every=2)
    job = FineTuneJob.objects.get()
    client.force_login(make_user("nosy"))

    assert client.get(f"/finetune/jobs/{job.pk}/").status_code == 404
    assert client.post(f"/finetune/jobs/{job.pk}/cancel/").status_code == 404
    assert FineTuneJob.objects.get(pk=job.pk).status == FineTuneJob.Status.QUEUED


def test_a_finished_job_hands_over_a_peft_zip_and_a_merged_model_with_the_same_outputs(
    client, owner_with_data, tmp_path
):
    import io
    import zipfile

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from modelfactory.finetuning.export_services import merged_export_run

    _, version, base = owner_with_data
    walk_wizard(client, base_model=base, version=version, max_steps=4, save_every=2)
    job = FineTuneJob.objects.get()
    job_run(job_id=job.pk, worker="w@host")

    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/finetune/jobs/{job.pk}/adapter.zip").content))
    archive.extractall(tmp_path / "adapter")
    FineTuneJob.objects.filter(pk=job.pk).update(merged_status="exporting")  # as the button does
    merged_export_run(job_id=job.pk)

    assert {"adapter_config.json", "adapter_model.safetensors", "manifest.json"} <= set(archive.namelist())
    probe = torch.tensor([[1, 5, 9, 13, 2]])
    adapted = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(base.source), tmp_path / "adapter"
    )
    merged = AutoModelForCausalLM.from_pretrained(f"{job.output_dir}/merged")
    with torch.no_grad():
        assert torch.allclose(adapted(probe).logits, merged(probe).logits, atol=1e-4)
    assert FineTuneJob.objects.get(pk=job.pk).merged_status == "ready"


def test_a_job_trained_in_its_own_process_reports_every_step_through_the_file_channel(
    client, owner_with_data
):
    """The protocol multi-GPU jobs use (spec/rows files, metrics journal, result file), with one process."""
    _, version, base = owner_with_data
    walk_wizard(client, base_model=base, version=version, max_steps=6, save_every=3)
    FineTuneJob.objects.update(gpus=1)
    job = FineTuneJob.objects.get()

    job_run(job_id=job.pk, worker="w@host")

    job.refresh_from_db()
    assert job.status == FineTuneJob.Status.SUCCEEDED, (job.error, job.log_tail)
    assert list(JobMetric.objects.filter(job=job).values_list("step", flat=True)) == list(range(1, 7))
    assert job.manifest["training_row_ids"]
    assert (Path(job.output_dir) / "adapter" / "adapter_model.safetensors").is_file()
    assert job.evaluation["adapter_eval_loss"] is not None
