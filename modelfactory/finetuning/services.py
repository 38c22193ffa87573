"""Writes on fine-tuning jobs: create, enqueue, claim, run, cancel, resume, recover.

The worker side is built for crashes. A job is *claimed* with one conditional UPDATE, so two
deliveries of the same task message cannot both train it; the claimant writes a heartbeat while it
trains, and a job whose heartbeat stops is put back in the queue by `jobs_recover_stalled` (beat),
where the next worker resumes it from the last checkpoint in its output directory. Metrics are
upserted by (job, step), so a resumed run never writes a step twice.
"""

from __future__ import annotations

import collections
import json
import logging
import threading
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from datanets.models import Row, Version
from datanets.selectors import datanets_usable_by
from modelfactory.accounts.errors import LimitReached
from modelfactory.accounts.models import User
from modelfactory.catalog.models import BaseModel
from modelfactory.finetuning.errors import JobRefused, NotJobOwner
from modelfactory.finetuning.estimates import planned_steps
from modelfactory.finetuning.models import FineTuneJob, JobMetric
from modelfactory.worker_attempts import message_maybe_lost, worker_died_reason
from modelfactory.worker_stopping import worker_is_stopping

logger = logging.getLogger(__name__)

LOG_TAIL_LINES = 60


# --- Creating and steering jobs (web side) -------------------------------------------------------------
JOB_HELD_OUT_PROMPTS = 8
"""Held-out rows a finished job answers with the base and with the adapter (ROUGE-L on the job page):
one batch of the Quick preset, so it costs one round of greedy decoding per side."""


def job_create(
    *,
    owner: User,
    name: str,
    base_model: BaseModel,
    versions: list[Version],
    spec: dict,
    preset: str = "",
    gpus: int = 0,
    publish_as: str = "",
) -> FineTuneJob:
    """Validate what the wizard collected and queue the job (after the transaction commits).

    ``gpus`` is how many GPUs train it (0: the worker's own process); it is also kept in the spec's
    ``extra`` so that the manifest records it, since the effective batch is batch × accumulation × GPUs.
    ``publish_as`` names the API model the adapter goes live under as soon as the job succeeds.
    """
    from modelfactory.finetuning.training.spec import SpecInvalid, TrainingSpec

    if not versions:
        raise JobRefused("choose at least one datanet version to train on")
    job_datanets_require_usable(owner, versions)
    if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 0:
        raise JobRefused(f"the number of GPUs must be 0 or more, not {gpus!r}")
    try:
        checked = TrainingSpec.from_json({**spec, "base_model": base_model.source})
    except SpecInvalid as error:
        raise JobRefused(str(error)) from None
    checked = checked.replace(extra={**checked.extra, "gpus": gpus})
    needs_gpu = checked.method == "qlora" or checked.attention == "flash_attention_2" or gpus > 0
    _require_bounded(checked, base_model=base_model, versions=versions, on_gpu=needs_gpu)
    with transaction.atomic():
        _require_job_room(owner)
        job = FineTuneJob.objects.create(
            owner=owner,
            name=name.strip() or f"{base_model.name} on {versions[0].datanet.slug}",
            base_model=base_model,
            preset=preset,
            spec=checked.to_json(),
            gpus=gpus,
            queue=FineTuneJob.Queue.GPU if needs_gpu else FineTuneJob.Queue.CPU,
            publish_as=publish_as,
        )
        job.datanet_versions.set(versions)
        job.output_dir = str(Path(settings.VAR_DIR) / "finetune" / f"job-{job.pk}")
        job.save(update_fields=["output_dir"])
        transaction.on_commit(lambda: job_enqueue(job=job))
    return job


def job_datanets_require_usable(owner: User, versions) -> None:
    """Raise `JobRefused` naming the first datanet `owner` may not (or no longer) train on.

    Checked when a job is created, resumed, trained and published: access revoked in between (a
    permissioned datanet's owner removing someone) stops the work that has not happened yet.
    """
    usable = set(datanets_usable_by(owner).values_list("pk", flat=True))
    for version in versions:
        if version.datanet_id not in usable:
            raise JobRefused(f"you may not train on {version.datanet.title}: ask its owner for access")


ACTIVE_JOB_STATUSES = (
    FineTuneJob.Status.QUEUED,
    FineTuneJob.Status.RUNNING,
    FineTuneJob.Status.CANCELLING,
)


def _require_job_room(owner: User) -> None:
    """At most MODELFACTORY_USER_CONCURRENT_JOBS queued or running jobs per person: the trainers are
    shared, first come first served, so one person's burst must not queue everyone else behind it.
    Call inside a transaction: the owner's row is locked so two launches at once count exactly."""
    User.objects.select_for_update().filter(pk=owner.pk).first()
    limit = settings.MODELFACTORY_USER_CONCURRENT_JOBS
    active = FineTuneJob.objects.filter(owner=owner, status__in=ACTIVE_JOB_STATUSES).count()
    if active >= limit:
        raise LimitReached(
            f"You have {active} jobs queued or running, the most one account may have at once ({limit}). "
            "Wait for one to finish or cancel it, then launch this one."
        )


def _require_bounded(spec, *, base_model: BaseModel, versions: list[Version], on_gpu: bool) -> None:
    """Refuse a spec that does not fit the base model, or whose work would hold a trainer for days.

    The work is bounded by the tokens it may process: steps × rows per step × max sequence length (an
    upper bound: rows shorter than the limit cost less). The limit depends on where it trains, since a
    GPU trains a hundred times faster than this CPU (MODELFACTORY_JOB_MAX_TOKENS_CPU / _GPU).
    """
    if base_model.context_length and spec.max_seq_length > base_model.context_length:
        raise JobRefused(
            f"max sequence length {spec.max_seq_length} is longer than {base_model.name}'s context "
            f"({base_model.context_length} tokens): lower it to {base_model.context_length} or less"
        )
    rows_per_step = spec.batch_size * spec.grad_accumulation * max(1, spec.extra.get("gpus", 0))
    rows = 0 if spec.max_steps else Row.objects.filter(versions__in=versions).distinct().count()
    steps = planned_steps(
        max_steps=spec.max_steps,
        train_rows=rows - int(rows * spec.eval_fraction),
        epochs=spec.epochs,
        rows_per_step=rows_per_step,
    )
    tokens = steps * rows_per_step * spec.max_seq_length
    limit = settings.MODELFACTORY_JOB_MAX_TOKENS_GPU if on_gpu else settings.MODELFACTORY_JOB_MAX_TOKENS_CPU
    if tokens > limit:
        where = "a GPU" if on_gpu else "the CPU"
        raise JobRefused(
            f"this job could process up to {tokens:,} tokens ({steps:,} steps × {rows_per_step} rows × "
            f"{spec.max_seq_length} tokens), more than one job may on {where} ({limit:,}): lower the steps "
            "or epochs, the batch, or the max sequence length"
        )


def job_enqueue(*, job: FineTuneJob) -> None:
    from modelfactory.finetuning.tasks import run_finetune_job

    FineTuneJob.objects.filter(pk=job.pk).update(queued_at=timezone.now())
    run_finetune_job.apply_async((job.pk,), queue=job.queue)


def _require_owner(job: FineTuneJob, user: User) -> None:
    if job.owner_id != user.pk:
        raise NotJobOwner("only the person who launched this job can change it")


def job_cancel(*, job: FineTuneJob, user: User) -> FineTuneJob:
    """A queued job is cancelled at once; a running one stops within one step, keeping a checkpoint."""
    _require_owner(job, user)
    FineTuneJob.objects.filter(pk=job.pk, status=FineTuneJob.Status.QUEUED).update(
        status=FineTuneJob.Status.CANCELLED, finished=timezone.now()
    )
    FineTuneJob.objects.filter(pk=job.pk, status=FineTuneJob.Status.RUNNING).update(
        status=FineTuneJob.Status.CANCELLING
    )
    job.refresh_from_db()
    return job


def job_resume(*, job: FineTuneJob, user: User) -> FineTuneJob:
    """Queue a cancelled or failed job again; training continues from its last complete checkpoint, or
    starts over when it stopped before writing one (`selectors.job_resume_step` tells which)."""
    _require_owner(job, user)
    job_datanets_require_usable(user, job.datanet_versions.select_related("datanet"))
    with transaction.atomic():
        _require_job_room(user)
        changed = FineTuneJob.objects.filter(
            pk=job.pk, status__in=[FineTuneJob.Status.CANCELLED, FineTuneJob.Status.FAILED]
        ).update(status=FineTuneJob.Status.QUEUED, error="", finished=None, worker="", attempts=0)
        if not changed:
            raise JobRefused(f"a {job.get_status_display().lower()} job cannot be resumed")
        transaction.on_commit(lambda: job_enqueue(job=job))
    job.refresh_from_db()
    return job


JOB_DIED_DOING = "training this job"


def _jobs_resend_lost() -> list[int]:
    """Queued jobs whose message was sent more than MODELFACTORY_JOB_RESEND_AFTER_S ago get it again.

    A message lost (a broker restarted without persistence, a purge) would leave the job "queued" for
    ever. A job that merely waits behind others gets a duplicate, which costs nothing: its claim is one
    conditional UPDATE, so a second delivery finds it taken or done and returns.
    """
    lost = FineTuneJob.objects.filter(message_maybe_lost(), status=FineTuneJob.Status.QUEUED)
    resent = []
    for job in lost:
        logger.warning(
            "job %s was queued at %s and never claimed: its message is sent again", job.pk, job.queued_at
        )
        job_enqueue(job=job)
        resent.append(job.pk)
    return resent


def _api_jobs_publish_missed(*, finished_before) -> None:
    """Publish API jobs that succeeded but whose worker died before publishing them (the API says such a
    job is still running until its model answers). Only jobs finished a while ago: a live worker publishes
    its own job a moment after finishing it, and publishing one twice would bump its version."""
    missed = FineTuneJob.objects.filter(
        via_api=True,
        status=FineTuneJob.Status.SUCCEEDED,
        finished__lt=finished_before,
        publish_error="",
        published__isnull=True,
    ).exclude(publish_as="")
    for job in missed:
        logger.warning(
            "job %s succeeded but was not published as %r: publishing it now", job.pk, job.publish_as
        )
        job_publish_on_success(job=job)


def jobs_recover_stalled() -> list[int]:
    """Put back in the queue every running job whose worker stopped beating (killed, lost, crashed), and
    send again the message of a job queued long ago and never claimed (`_jobs_resend_lost`).

    Not for ever: a job whose every worker died with it (``MODELFACTORY_TASK_MAX_ATTEMPTS`` claims, none
    finished) is the likely cause, and would otherwise hold the single trainer in a loop; it fails with
    the reason, and its owner may resume it (which counts again from zero).
    """
    stale = timezone.now() - timedelta(seconds=settings.MODELFACTORY_JOB_STALE_AFTER_S)
    _api_jobs_publish_missed(finished_before=stale)
    recovered = _jobs_resend_lost()
    for job in FineTuneJob.objects.filter(
        status__in=[FineTuneJob.Status.RUNNING, FineTuneJob.Status.CANCELLING], heartbeat_at__lt=stale
    ):
        if job.status == FineTuneJob.Status.CANCELLING:
            FineTuneJob.objects.filter(pk=job.pk, heartbeat_at__lt=stale).update(
                status=FineTuneJob.Status.CANCELLED, finished=timezone.now(), worker=""
            )
            continue
        if job.attempts >= settings.MODELFACTORY_TASK_MAX_ATTEMPTS:
            if FineTuneJob.objects.filter(
                pk=job.pk, status=FineTuneJob.Status.RUNNING, heartbeat_at__lt=stale
            ).update(
                status=FineTuneJob.Status.FAILED,
                error=worker_died_reason(JOB_DIED_DOING),
                finished=timezone.now(),
                worker="",
            ):
                logger.warning("job %s lost its worker %s times; failed", job.pk, job.attempts)
            continue
        if FineTuneJob.objects.filter(
            pk=job.pk, status=FineTuneJob.Status.RUNNING, heartbeat_at__lt=stale
        ).update(status=FineTuneJob.Status.QUEUED, worker=""):
            logger.warning("job %s lost its worker %s; queued again to resume", job.pk, job.worker)
            job_enqueue(job=job)
            recovered.append(job.pk)
    return recovered


# --- Running jobs (worker side) ------------------------------------------------------------------------
def job_claim(*, job_id: int, worker: str) -> bool:
    """Take the job for this worker: only a queued job, or a running one whose worker went silent.

    Every claim counts an attempt; a job already claimed ``MODELFACTORY_TASK_MAX_ATTEMPTS`` times without
    finishing (a job only leaves running by finishing, so every one of those workers died) is failed with
    the reason instead of being trained again, whichever way its message came back (redelivered after its
    worker was lost, or queued again by `jobs_recover_stalled`).
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.MODELFACTORY_JOB_STALE_AFTER_S)
    claimable = Q(status=FineTuneJob.Status.QUEUED) | Q(
        status=FineTuneJob.Status.RUNNING, heartbeat_at__lt=stale
    )
    cap = settings.MODELFACTORY_TASK_MAX_ATTEMPTS
    if FineTuneJob.objects.filter(claimable, pk=job_id, attempts__lt=cap).update(
        status=FineTuneJob.Status.RUNNING,
        worker=worker,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
        started=Coalesce(F("started"), now),
    ):
        return True
    if FineTuneJob.objects.filter(claimable, pk=job_id, attempts__gte=cap).update(
        status=FineTuneJob.Status.FAILED, error=worker_died_reason(JOB_DIED_DOING), finished=now, worker=""
    ):
        logger.warning("job %s was claimed %s times without finishing; failed", job_id, cap)
    return False


def training_rows(job: FineTuneJob) -> list[dict]:
    """The approved rows of the pinned versions, in a stable order, each with its row id."""
    rows = (
        Row.objects.filter(versions__in=job.datanet_versions.all())
        .order_by("datanet_id", "id")
        .distinct()
        .values("id", "content")
    )
    return [{"row_id": row["id"], **row["content"]} for row in rows]


def job_run(*, job_id: int, worker: str) -> None:
    """Train the job if this worker can claim it; idempotent for duplicate and redelivered messages."""
    from modelfactory.finetuning.training.manifest import DatanetVersionRef
    from modelfactory.finetuning.training.progress_reporting import TrainingCallbacks
    from modelfactory.finetuning.training.spec import TrainingSpec
    from modelfactory.finetuning.training.trainer import run_training

    if not job_claim(job_id=job_id, worker=worker):
        logger.info(
            "job %s is not claimable by %s (done, cancelled or owned by a live worker)", job_id, worker
        )
        return
    job = FineTuneJob.objects.select_related("base_model", "owner").get(pk=job_id)
    versions = list(job.datanet_versions.select_related("datanet"))
    try:
        job_datanets_require_usable(job.owner, versions)
    except JobRefused as refused:  # access revoked while the job waited in the queue
        _finish(job.pk, worker, FineTuneJob.Status.FAILED, error=f"not trained: {refused}")
        return
    spec = TrainingSpec.from_json({**job.spec, "base_model": job.base_model.source})
    logs = _LogTail()
    beat = _Heartbeat(job_id=job.pk, worker=worker, logs=logs)
    callbacks = TrainingCallbacks(
        on_metrics=lambda record: _record_metrics(job.pk, worker, record),
        should_cancel=lambda: worker_is_stopping() or _cancel_requested(job.pk),
    )
    beat.start()
    logs.attach()
    refs = [
        DatanetVersionRef(
            datanet_id=v.datanet.slug,
            version=v.number,
            merkle_root=v.merkle_root,
            name=v.datanet.title,
            row_count=v.row_count,
        )
        for v in versions
    ]
    try:
        if job.gpus >= 1:  # its own process (1 GPU) or accelerate DDP (N GPUs): see `launcher`
            from modelfactory.finetuning.launcher import run_launched

            result = run_launched(
                spec=spec,
                rows=training_rows(job),
                output_dir=Path(job.output_dir),
                datanets=refs,
                num_gpus=job.gpus,
                on_metrics=callbacks.on_metrics,
                should_cancel=callbacks.should_cancel,
            )
        else:
            result = run_training(
                spec,
                training_rows(job),
                job.output_dir,
                callbacks=callbacks,
                datanets=refs,
                held_out_prompts=JOB_HELD_OUT_PROMPTS,
            ).to_json()
    except Exception as error:
        logger.exception("job %s failed", job.pk)
        _finish(
            job.pk,
            worker,
            FineTuneJob.Status.FAILED,
            error=f"{type(error).__name__}: {error}",
            log_tail=logs.text(),
        )
        return
    finally:
        logs.detach()
        beat.stop()
    if result["status"] == "cancelled" and worker_is_stopping() and not _cancel_requested(job.pk):
        _job_hand_back(job, worker, log_tail=logs.text(), step=result["global_step"])
        return
    manifest = json.loads(Path(result["manifest_path"]).read_text()) if result.get("manifest_path") else {}
    status = FineTuneJob.Status.CANCELLED if result["status"] == "cancelled" else FineTuneJob.Status.SUCCEEDED
    _finish(
        job.pk,
        worker,
        status,
        log_tail=logs.text(),
        step=result["global_step"],
        manifest=manifest,
        evaluation=result.get("evaluation") or {},
        data_report=result.get("data_report") or {},
        last_metrics=result.get("final_metrics") or {},
    )
    if status == FineTuneJob.Status.SUCCEEDED:
        job_publish_on_success(job=FineTuneJob.objects.get(pk=job.pk))


def job_publish_on_success(*, job: FineTuneJob, description: str = ""):
    """Publish a succeeded job that asked for it (``publish_as``), once; a refusal is kept on the job.

    A job created through the API (``via_api``) is published private to its owner (an allow-list of no
    one else), so its name answers its owner's chat completions at once; a demo fine-tune is public.

    Also the repair path: a worker killed between finishing the job and publishing it leaves a succeeded,
    unpublished job, which the next call (the demo's `demo_fine_tunes_ensure` at every start, beat's
    `jobs_recover_stalled` for API jobs) publishes.
    """
    from modelfactory.catalog.models import PublishedModel
    from modelfactory.catalog.services import PublishRefused, model_publish_from_job

    if not job.publish_as or job.status != FineTuneJob.Status.SUCCEEDED:
        return None
    existing = PublishedModel.objects.filter(api_name=job.publish_as, job=job).first()
    if existing is not None:
        return existing
    try:
        access = PublishedModel.Access.ALLOW_LIST if job.via_api else PublishedModel.Access.PUBLIC
        return model_publish_from_job(
            job=job,
            user=job.owner,
            api_name=job.publish_as,
            title=job.name,
            description=description,
            access=access,
        )
    except PublishRefused as error:
        logger.warning("job %s could not be published as %r: %s", job.pk, job.publish_as, error)
        FineTuneJob.objects.filter(pk=job.pk).update(publish_error=str(error))
        return None


def _record_metrics(job_id: int, worker: str, record: dict) -> None:
    """Upsert the step's metrics and the job's progress; a resumed run re-sending a step overwrites it."""
    JobMetric.objects.update_or_create(
        job_id=job_id,
        step=record["step"],
        defaults={
            "epoch": record.get("epoch") or 0.0,
            "loss": record.get("loss"),
            "eval_loss": record.get("eval_loss"),
            "learning_rate": record.get("learning_rate"),
            "grad_norm": record.get("grad_norm"),
            "tokens_per_second": record.get("tokens_per_second"),
            "gpu_memory_mb": record.get("gpu_memory_mb"),
        },
    )
    FineTuneJob.objects.filter(pk=job_id, worker=worker).update(
        step=record["step"],
        max_steps=record.get("max_steps") or 0,
        epoch=record.get("epoch") or 0.0,
        eta_seconds=record.get("eta_seconds"),
        tokens_per_second=record.get("tokens_per_second"),
        last_metrics={k: v for k, v in record.items() if isinstance(v, int | float | str | None)},
        heartbeat_at=timezone.now(),
    )


def _job_hand_back(job: FineTuneJob, worker: str, **fields) -> None:
    """This worker was told to stop (Ctrl-C, a deploy): training stopped at a checkpoint, so the job goes
    back in the queue for the next worker to resume from it, and this claim does not count as a death.

    Its message was acknowledged when the task returned, so a new one is sent; if the broker refuses it
    now, beat's `jobs_recover_stalled` sends it again (`_jobs_resend_lost`)."""
    handed_back = FineTuneJob.objects.filter(
        pk=job.pk, worker=worker, status=FineTuneJob.Status.RUNNING
    ).update(
        status=FineTuneJob.Status.QUEUED,
        worker="",
        attempts=F("attempts") - 1,
        heartbeat_at=timezone.now(),
        **fields,
    )
    if not handed_back:
        return
    logger.info(
        "job %s checkpointed at step %s and handed back: worker %s is stopping",
        job.pk,
        fields.get("step"),
        worker,
    )
    try:
        job_enqueue(job=job)  # reads only its id and queue
    except Exception:  # the broker may be going down with the worker
        logger.warning(
            "job %s is queued but its message could not be sent; beat will resend it", job.pk, exc_info=True
        )


def _cancel_requested(job_id: int) -> bool:
    return FineTuneJob.objects.filter(pk=job_id, status=FineTuneJob.Status.CANCELLING).exists()


def _finish(job_id: int, worker: str, status: str, **fields) -> None:
    fields.setdefault("error", "")
    FineTuneJob.objects.filter(pk=job_id, worker=worker).update(
        status=status, finished=timezone.now(), heartbeat_at=timezone.now(), **fields
    )


class _LogTail(logging.Handler):
    """Keeps the last lines the training libraries logged, so a failure shows what happened.

    Only lines logged by the thread that attached it: the loggers are process-wide, and a worker with a
    threads pool trains two jobs at once, whose logs must not end up in each other's job page.
    """

    LOGGERS = ("modelfactory.finetuning", "transformers", "trl", "peft")

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.lines: collections.deque[str] = collections.deque(maxlen=LOG_TAIL_LINES)
        self.thread: int | None = None
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.lines.append(self.format(record))

    def attach(self) -> None:
        self.thread = threading.get_ident()
        for name in self.LOGGERS:
            logging.getLogger(name).addHandler(self)

    def detach(self) -> None:
        for name in self.LOGGERS:
            logging.getLogger(name).removeHandler(self)

    def text(self) -> str:
        return "\n".join(self.lines)


class _Heartbeat:
    """Beats for the job while it trains, also through long steps, evaluation and saving."""

    def __init__(self, *, job_id: int, worker: str, logs: _LogTail) -> None:
        self.job_id, self.worker, self.logs = job_id, worker, logs
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"job-{job_id}-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        interval = settings.MODELFACTORY_JOB_HEARTBEAT_S
        while not self._stop.wait(interval):
            try:
                FineTuneJob.objects.filter(pk=self.job_id, worker=self.worker).update(
                    heartbeat_at=timezone.now(), log_tail=self.logs.text()
                )
            except Exception:
                logger.warning("heartbeat of job %s failed", self.job_id, exc_info=True)
            finally:
                close_old_connections()
