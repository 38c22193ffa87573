"""Fine-tuning OpenAI's way, with the official client: files are private datanet versions, jobs are the
wizard's, and a finished job's `fine_tuned_model` answers chat completions at once."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path

import openai
import pytest
from django.conf import settings
from django.utils import timezone

from datanets.models import Datanet, Row, Upload, Version
from modelfactory.api.models import ApiFile
from modelfactory.api.services import api_key_create
from modelfactory.catalog.models import PublishedModel
from modelfactory.finetuning.models import FineTuneJob, JobMetric
from modelfactory.finetuning.services import jobs_recover_stalled
from tests.support.factories import make_user
from tests.support.processes import wait_until
from tests.support.workers import app_broker, celery_worker, worker_log

pytestmark = pytest.mark.django_db(transaction=True)

TINY = {  # a few cheap steps of the tiny model
    "preset": "quick",
    "max_steps": 2,
    "batch_size": 4,
    "max_seq_length": 64,
    "lora_r": 8,
    "lora_alpha": 16,
    "target_modules": "attention",
}


def chat_lines(count: int = 24, *, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    lines = []
    for index in range(count):
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        lines.append(
            {
                "messages": [
                    {"role": "system", "content": "Answer with the bare sum."},
                    {"role": "user", "content": f"What is {a} plus {b}? ({index})"},
                    {"role": "assistant", "content": f"{a + b}."},
                ]
            }
        )
    return lines


def jsonl(lines: list[dict]) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


@pytest.fixture
def stranger(client_for, tiny_base) -> openai.OpenAI:
    return client_for(api_key_create(user=make_user("stranger"), name="theirs")[1])


@pytest.fixture
def training_file(openai_client):
    return openai_client.files.create(file=("sums.jsonl", jsonl(chat_lines())), purpose="fine-tune")


def test_a_chat_file_becomes_a_private_datanet_version_of_its_caller(openai_client, caller, training_file):
    content = jsonl(chat_lines())

    assert training_file.id.startswith("file-")
    assert (training_file.object, training_file.purpose, training_file.status) == (
        "file",
        "fine-tune",
        "processed",
    )
    assert (training_file.filename, training_file.bytes) == ("sums.jsonl", len(content))
    stored = ApiFile.objects.get(public_id=training_file.id)
    datanet = stored.version.datanet
    assert (datanet.owner, datanet.visibility) == (caller, Datanet.Visibility.PERMISSIONED)
    assert (datanet.expected_format, stored.version.number, stored.version.row_count) == ("messages", 1, 24)
    assert set(datanet.rows.values_list("status", "contributor")) == {(Row.Status.APPROVED, caller.pk)}
    assert openai_client.files.retrieve(training_file.id).model_dump() == training_file.model_dump()
    listed = openai_client.files.list()
    assert [f.id for f in listed.data] == [training_file.id]
    assert listed.has_more is False


def test_a_file_with_a_line_without_messages_is_refused_naming_the_line_and_creates_nothing(openai_client):
    lines = chat_lines(5)
    lines[2] = {"prompt": "What is 2 plus 3?", "completion": "5."}  # line 3

    with pytest.raises(openai.BadRequestError) as refused:
        openai_client.files.create(file=("bad.jsonl", jsonl(lines)), purpose="fine-tune")

    error = refused.value.body
    assert refused.value.status_code == 400
    assert "line 3: 'messages' is missing" in error["message"]
    assert "nothing was created" in error["message"]
    assert error["param"] == "file"
    for model in (ApiFile, Datanet, Upload, Row, Version):
        assert not model.objects.exists(), model
    uploads = Path(settings.VAR_DIR) / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())  # not even the rejections report


def test_only_jsonl_fine_tune_files_are_taken(openai_client):
    with pytest.raises(openai.BadRequestError) as wrong_purpose:
        openai_client.files.create(file=("sums.jsonl", jsonl(chat_lines(2))), purpose="batch")
    with pytest.raises(openai.BadRequestError) as not_jsonl:
        openai_client.files.create(file=("sums.csv", b"prompt,completion\na,b\n"), purpose="fine-tune")

    assert wrong_purpose.value.body["param"] == "purpose"
    assert ".jsonl" in not_jsonl.value.body["message"]
    assert not Datanet.objects.exists()


def test_a_job_is_created_retrieved_listed_and_cancelled_as_the_wizard_would_make_it(
    openai_client, caller, training_file
):
    created = openai_client.fine_tuning.jobs.create(
        model="tiny-base",
        training_file=training_file.id,
        suffix="Sums Bot",
        seed=7,
        hyperparameters={"n_epochs": 2, "batch_size": 4, "learning_rate_multiplier": 0.5, "lora_r": 8},
        method="dora",
    )

    job = FineTuneJob.objects.get()
    assert created.id == f"ftjob-{job.pk}"
    assert (created.object, created.model, created.status) == ("fine_tuning.job", "tiny-base", "queued")
    assert (created.training_file, created.fine_tuned_model, created.seed) == (training_file.id, None, 7)
    assert (created.hyperparameters.n_epochs, created.hyperparameters.batch_size) == (2, 4)
    assert created.hyperparameters.learning_rate_multiplier == 0.5
    assert (created.organization_id, created.result_files) == ("user-caller", [])
    assert (job.owner, job.via_api, job.api_training_file, job.preset) == (
        caller,
        True,
        training_file.id,
        "balanced",
    )
    assert job.publish_as == f"ft-tiny-base-sums-bot-{job.pk}"
    preset_lr = 1e-3  # the balanced CPU preset's
    assert job.spec["learning_rate"] == pytest.approx(preset_lr * 0.5)
    assert (job.spec["epochs"], job.spec["max_steps"], job.spec["method"], job.spec["rank"]) == (
        2.0,
        None,
        "dora",
        8,
    )
    assert list(job.datanet_versions.all()) == [ApiFile.objects.get().version]

    assert openai_client.fine_tuning.jobs.retrieve(created.id).model_dump() == created.model_dump()
    events = openai_client.fine_tuning.jobs.list_events(created.id)
    assert [e.message for e in events.data] == ["Created fine-tuning job"]

    cancelled = openai_client.fine_tuning.jobs.cancel(created.id)
    assert cancelled.status == "cancelled"
    assert cancelled.finished_at is not None
    events = openai_client.fine_tuning.jobs.list_events(created.id)
    assert [e.message for e in events.data] == ["Fine-tuning job cancelled", "Created fine-tuning job"]


def test_jobs_list_newest_first_in_pages(openai_client, training_file):
    ids = [
        openai_client.fine_tuning.jobs.create(model="tiny-base", training_file=training_file.id).id
        for _ in range(2)
    ]

    first = openai_client.fine_tuning.jobs.list(limit=1)
    everything = [job.id for job in openai_client.fine_tuning.jobs.list(limit=1)]  # follows `after`

    assert ([job.id for job in first.data], first.has_more) == ([ids[1]], True)
    assert everything == [ids[1], ids[0]]


def test_the_wizard_s_bounds_and_limits_hold(openai_client, training_file):
    def create(**ask):
        return openai_client.fine_tuning.jobs.create(
            **{"model": "tiny-base", "training_file": training_file.id, **ask}
        )

    with pytest.raises(openai.BadRequestError) as bad_rank:
        create(hyperparameters={"lora_r": 0})
    with pytest.raises(openai.BadRequestError) as unknown:
        create(hyperparameters={"lora_rank": 8})
    with pytest.raises(openai.BadRequestError) as top_level_typo:
        create(extra_body={"n_epochs": 3})
    with pytest.raises(openai.BadRequestError) as validation_file:
        create(validation_file=training_file.id)
    with pytest.raises(openai.NotFoundError) as no_model:
        create(model="gpt-4o-mini")
    with pytest.raises(openai.ConflictError) as too_long:  # MODELFACTORY_JOB_MAX_TOKENS_CPU
        create(hyperparameters={"max_steps": 10**6})
    for _ in range(settings.MODELFACTORY_USER_CONCURRENT_JOBS):
        create(hyperparameters={"max_steps": 1})
    with pytest.raises(openai.ConflictError) as too_many:
        create(hyperparameters={"max_steps": 1})

    assert bad_rank.value.body["param"] == "hyperparameters.lora_r"
    assert unknown.value.body["param"] == "hyperparameters.lora_rank"
    assert top_level_typo.value.body["param"] == "n_epochs"
    assert validation_file.value.body["param"] == "validation_file"
    assert no_model.value.body["param"] == "model"
    assert "tiny-base" in no_model.value.body["message"]
    assert "tokens" in too_long.value.body["message"]
    assert "jobs queued or running" in too_many.value.body["message"]
    assert FineTuneJob.objects.count() == settings.MODELFACTORY_USER_CONCURRENT_JOBS


def test_another_user_s_file_and_job_are_not_found_in_the_words_of_missing_ones(
    openai_client, stranger, training_file
):
    job = openai_client.fine_tuning.jobs.create(model="tiny-base", training_file=training_file.id)
    missing_file, missing_job = "file-" + "0" * 24, "ftjob-999999"

    def refusal(call, *args, **kwargs) -> dict:
        with pytest.raises(openai.NotFoundError) as refused:
            call(*args, **kwargs)
        return refused.value.body

    theirs = refusal(stranger.files.retrieve, training_file.id)
    missing = refusal(stranger.files.retrieve, missing_file)
    assert theirs["message"] == missing["message"].replace(missing_file, training_file.id)
    refusal(stranger.files.delete, training_file.id)
    used = refusal(stranger.fine_tuning.jobs.create, model="tiny-base", training_file=training_file.id)
    assert used["param"] == "training_file"
    assert stranger.files.list().data == []

    their_job = refusal(stranger.fine_tuning.jobs.retrieve, job.id)
    assert their_job["message"] == refusal(stranger.fine_tuning.jobs.retrieve, missing_job)[
        "message"
    ].replace(missing_job, job.id)
    refusal(stranger.fine_tuning.jobs.cancel, job.id)
    refusal(stranger.fine_tuning.jobs.list_events, job.id)
    assert stranger.fine_tuning.jobs.list().data == []
    assert FineTuneJob.objects.get().status == FineTuneJob.Status.QUEUED


def test_deleting_a_file_deletes_its_rows_unless_a_job_trained_on_them(openai_client, training_file):
    unused = openai_client.files.create(file=("more.jsonl", jsonl(chat_lines(seed=2))), purpose="fine-tune")
    job = openai_client.fine_tuning.jobs.create(model="tiny-base", training_file=training_file.id)

    gone = openai_client.files.delete(unused.id)
    kept = openai_client.files.delete(training_file.id)

    assert (gone.id, gone.deleted, gone.model_extra["data_kept"]) == (unused.id, True, False)
    assert (kept.deleted, kept.model_extra["data_kept"], kept.model_extra["kept_for"]) == (
        True,
        True,
        [job.id],
    )
    assert not ApiFile.objects.exists()
    datanet = Datanet.objects.get()  # the trained-on one, archived: the job keeps its lineage
    assert datanet.archived is not None
    assert list(FineTuneJob.objects.get().datanet_versions.all()) == list(datanet.versions.all())
    assert openai_client.fine_tuning.jobs.retrieve(job.id).training_file == training_file.id
    with pytest.raises(openai.NotFoundError):
        openai_client.files.retrieve(training_file.id)
    with pytest.raises(openai.NotFoundError):
        openai_client.fine_tuning.jobs.create(model="tiny-base", training_file=training_file.id)


def adapter_written_by_the_worker(job: FineTuneJob, base_model) -> None:
    """The adapter a finished job leaves on disk (publishing checks the engine can serve it)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from modelfactory.finetuning.export_services import adapter_directory

    model = AutoModelForCausalLM.from_pretrained(base_model)
    get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"])).save_pretrained(
        adapter_directory(job)
    )


def test_a_job_says_succeeded_only_once_its_model_answers_and_beat_publishes_a_missed_one(
    openai_client, caller, training_file, use_tiny_base_model
):
    created = openai_client.fine_tuning.jobs.create(model="tiny-base", training_file=training_file.id)
    long_ago = timezone.now() - timedelta(hours=1)
    FineTuneJob.objects.update(status=FineTuneJob.Status.SUCCEEDED, finished=long_ago)  # worker died here
    adapter_written_by_the_worker(FineTuneJob.objects.get(), use_tiny_base_model)

    unpublished = openai_client.fine_tuning.jobs.retrieve(created.id)
    jobs_recover_stalled()
    published = openai_client.fine_tuning.jobs.retrieve(created.id)

    assert (unpublished.status, unpublished.fine_tuned_model) == ("running", None)
    assert unpublished.model_extra["status_detail"] == "succeeded"
    assert published.status == "succeeded"
    assert published.fine_tuned_model == FineTuneJob.objects.get().publish_as
    model = PublishedModel.objects.get(api_name=published.fine_tuned_model)
    assert (model.owner, model.access, list(model.allowed_users.all())) == (caller, "allow_list", [])


@pytest.mark.services
@pytest.mark.slow
def test_a_job_trained_by_a_real_worker_answers_chat_completions_under_its_fine_tuned_model(
    openai_client, caller, training_file, redis_url, tmp_path
):
    log = tmp_path / "worker.log"
    with app_broker(redis_url), celery_worker(redis_url, log, queues="cpu", env={"OMP_NUM_THREADS": "1"}):
        created = openai_client.fine_tuning.jobs.create(
            model="tiny-base", training_file=training_file.id, suffix="sums", hyperparameters=TINY
        )

        def finished():
            return openai_client.fine_tuning.jobs.retrieve(created.id).status in (
                "succeeded",
                "failed",
                "cancelled",
            )

        try:
            wait_until(finished, timeout_s=300, what="the job to succeed")
        except TimeoutError:
            pytest.fail(worker_log(log))
        job = openai_client.fine_tuning.jobs.retrieve(created.id)
        assert job.status == "succeeded", (job.error, worker_log(log))

    name = f"ft-tiny-base-sums-{FineTuneJob.objects.get().pk}"
    assert job.fine_tuned_model == name
    assert job.finished_at >= job.created_at
    assert job.trained_tokens > 0
    published = PublishedModel.objects.get(api_name=name)
    assert (published.owner, published.access, published.is_live) == (caller, "allow_list", True)
    assert name in [model.id for model in openai_client.models.list()]

    completion = openai_client.chat.completions.create(
        model=job.fine_tuned_model, messages=[{"role": "user", "content": "What is 2 plus 3?"}], max_tokens=3
    )
    assert completion.model == name
    assert completion.choices[0].message.content is not None

    events = list(openai_client.fine_tuning.jobs.list_events(created.id, limit=100))
    metrics = [e for e in events if e.type == "metrics"]
    assert [e.data["step"] for e in metrics] == [2, 1]
    assert all(e.data["train_loss"] > 0 for e in metrics)
    assert events[0].message == f"New fine-tuned model created: {name}"
    assert "The job has successfully completed" in [e.message for e in events]
    assert JobMetric.objects.count() == 2
    checkpoints = openai_client.fine_tuning.jobs.checkpoints.list(created.id)
    assert checkpoints.data[0].step_number == 2
    assert checkpoints.data[0].fine_tuning_job_id == created.id
