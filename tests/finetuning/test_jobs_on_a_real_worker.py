"""Fine-tuning jobs on real Celery worker processes over Redis: crash recovery, cancel and resume.

Not eager mode: the wizard enqueues on Redis, a `celery worker` process trains, and the test sees
only what a user would (the job row, its metrics, its files).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from modelfactory.finetuning.models import FineTuneJob, JobMetric
from modelfactory.finetuning.services import jobs_recover_stalled
from tests.finetuning.jobs_support import register_tiny, sums_datanet, walk_wizard
from tests.support.factories import make_user
from tests.support.processes import stop, wait_until
from tests.support.workers import app_broker, celery_worker, worker_log

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services, pytest.mark.slow]

WORKER_ENV = {
    "MODELFACTORY_JOB_HEARTBEAT_S": "1",
    "MODELFACTORY_JOB_STALE_AFTER_S": "4",
    "OMP_NUM_THREADS": "1",
}


@pytest.fixture
def on_redis(redis_url, settings):
    settings.MODELFACTORY_JOB_STALE_AFTER_S = 4
    with app_broker(redis_url):
        yield redis_url


@pytest.fixture(params=["redis", "embedded"])
def on_either_broker(request, redis_url, tmp_path, settings):
    """Redis (production) and `make run`'s embedded SQLAlchemy broker, whose worker polls (a synchronous
    event loop that runs one more turn after SIGTERM)."""
    url = redis_url if request.param == "redis" else f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}"
    settings.MODELFACTORY_JOB_STALE_AFTER_S = 4
    with app_broker(url):
        yield url


@pytest.fixture
def launched(client, on_redis, use_tiny_base_model):
    return _launcher(client, use_tiny_base_model)


def _launcher(client, tiny_base_model):
    def launch(max_steps: int, save_every: int) -> FineTuneJob:
        owner = make_user()
        client.force_login(owner)
        _, version = sums_datanet(owner)
        walk_wizard(
            client,
            base_model=register_tiny(tiny_base_model),
            version=version,
            max_steps=max_steps,
            save_every=save_every,
        )
        return FineTuneJob.objects.filter(owner=owner).get()

    return launch


def _step(job: FineTuneJob) -> int:
    return FineTuneJob.objects.get(pk=job.pk).step


def _status(job: FineTuneJob) -> str:
    return FineTuneJob.objects.get(pk=job.pk).status


def _wait_until_finished(job: FineTuneJob, log: Path) -> None:
    try:
        wait_until(
            lambda: _status(job) not in FineTuneJob.ACTIVE, timeout_s=240, what=f"job {job.pk} to finish"
        )
    except TimeoutError:
        pytest.fail(worker_log(log))


def test_a_worker_killed_mid_training_is_replaced_and_the_job_resumes_from_its_checkpoint(
    launched, on_redis, tmp_path
):
    job = launched(max_steps=40, save_every=5)
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"

    with celery_worker(on_redis, first_log, queues="cpu", name="doomed", env=WORKER_ENV) as doomed:
        try:
            wait_until(lambda: _step(job) >= 12, timeout_s=180, what="training to pass a checkpoint")
        except TimeoutError:
            pytest.fail(worker_log(first_log))
        os.killpg(doomed.pid, signal.SIGKILL)
    killed_at = _step(job)
    assert _status(job) == FineTuneJob.Status.RUNNING  # nobody told the database: only the heartbeat stops

    wait_until(
        lambda: jobs_recover_stalled() == [job.pk], timeout_s=30, what="the stalled job to be requeued"
    )
    with celery_worker(on_redis, second_log, queues="cpu", name="rescuer", env=WORKER_ENV):
        _wait_until_finished(job, second_log)

    job.refresh_from_db()
    assert job.status == FineTuneJob.Status.SUCCEEDED, (job.error, worker_log(second_log))
    assert job.attempts == 2
    assert killed_at < 40
    assert list(JobMetric.objects.filter(job=job).values_list("step", flat=True)) == list(range(1, 41))
    adapter = Path(job.output_dir) / "adapter"
    assert {"adapter_config.json", "adapter_model.safetensors"} <= {p.name for p in adapter.iterdir()}
    assert [p.name for p in Path(job.output_dir).iterdir() if "adapter" in p.name] == ["adapter"]
    assert "resum" in worker_log(second_log).lower()
    _adapter_reproduces_the_manifest_logits(job)


def test_cancel_stops_a_running_job_keeping_a_checkpoint_and_resume_finishes_it(
    launched, on_redis, client, tmp_path
):
    job = launched(max_steps=30, save_every=5)
    log = tmp_path / "worker.log"

    with celery_worker(on_redis, log, queues="cpu", name="steady", env=WORKER_ENV):
        wait_until(lambda: _step(job) >= 3, timeout_s=180, what="training to start")
        client.post(f"/finetune/jobs/{job.pk}/cancel/")
        wait_until(lambda: _status(job) == FineTuneJob.Status.CANCELLED, timeout_s=60, what="the cancel")
        stopped_at = _step(job)
        assert stopped_at < 30
        assert any((Path(job.output_dir) / "checkpoints").iterdir())

        client.post(f"/finetune/jobs/{job.pk}/resume/")
        wait_until(
            lambda: _status(job) == FineTuneJob.Status.SUCCEEDED, timeout_s=240, what="the resumed job"
        )

    steps = list(JobMetric.objects.filter(job=job).values_list("step", flat=True))
    assert steps == list(range(1, 31))


def test_a_worker_told_to_stop_checkpoints_its_job_and_the_next_worker_resumes_it_without_counting_a_death(
    client, on_either_broker, use_tiny_base_model, tmp_path
):
    launched = _launcher(client, use_tiny_base_model)
    job = launched(max_steps=40, save_every=1000)  # no checkpoint but the one the stop writes
    waiting = launched(max_steps=5, save_every=1000)  # queued behind it
    leaving_log, next_log = tmp_path / "leaving.log", tmp_path / "next.log"

    with celery_worker(
        on_either_broker, leaving_log, queues="cpu", name="leaving", env=WORKER_ENV
    ) as leaving:
        wait_until(lambda: _step(job) >= 3, timeout_s=180, what="training to start")
        stop(leaving)  # SIGTERM, as Ctrl-C or a deploy sends; DidNotStop if it had to be killed
    assert leaving.returncode == 0, worker_log(leaving_log)
    assert "Traceback" not in leaving_log.read_text(), worker_log(leaving_log)  # a clean stop, not a crash
    waiting.refresh_from_db()
    assert (waiting.status, waiting.attempts, waiting.step) == (FineTuneJob.Status.QUEUED, 0, 0), worker_log(
        leaving_log
    )  # not even started: a stopping worker gives the next message back

    job.refresh_from_db()
    assert (job.status, job.worker, job.attempts) == (FineTuneJob.Status.QUEUED, "", 0), job.error
    assert 3 <= job.step < 40
    checkpoints = [p.name for p in (Path(job.output_dir) / "checkpoints").glob("checkpoint-*")]
    assert checkpoints == [f"checkpoint-{job.step}"]
    stopped_at = job.step

    with celery_worker(on_either_broker, next_log, queues="cpu", name="next", env=WORKER_ENV):
        _wait_until_finished(job, next_log)
        _wait_until_finished(waiting, next_log)

    job.refresh_from_db()
    assert job.status == FineTuneJob.Status.SUCCEEDED, (job.error, worker_log(next_log))
    assert job.attempts == 1
    assert _status(waiting) == FineTuneJob.Status.SUCCEEDED
    assert list(JobMetric.objects.filter(job=job).values_list("step", flat=True)) == list(range(1, 41))
    assert f"resuming from checkpoint-{stopped_at}" in next_log.read_text()


def _adapter_reproduces_the_manifest_logits(job: FineTuneJob) -> None:
    """The published adapter, loaded with nothing but plain PEFT, gives the logits its manifest recorded."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from modelfactory.finetuning.training.manifest import reference_logits_match

    base = AutoModelForCausalLM.from_pretrained(job.base_model.source)
    model = PeftModel.from_pretrained(base, str(Path(job.output_dir) / "adapter"))
    assert reference_logits_match(job.manifest["reference_logits"], model)
