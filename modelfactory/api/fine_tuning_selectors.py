"""Reads of /v1/files and /v1/fine_tuning/jobs, and the OpenAI objects they answer with.

Who sees what is the pages' rule: a file is its owner's alone, a job is its owner's alone (the jobs the
wizard launched are listed too), and either, someone else's, is 404 in the very words a missing one gets.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db.models import QuerySet

from modelfactory.api.errors import ApiFileNotFound
from modelfactory.api.fine_tuning_parameters import Cursor
from modelfactory.api.models import ApiFile
from modelfactory.catalog.errors import ModelNotFound
from modelfactory.catalog.models import BaseModel, PublishedModel
from modelfactory.finetuning.errors import JobNotFound
from modelfactory.finetuning.models import FineTuneJob, JobMetric
from modelfactory.finetuning.selectors import jobs_of

JOB_PREFIX = "ftjob-"
_JOB_ID = re.compile(r"^ftjob-([1-9][0-9]{0,17})$")


# --- Files -------------------------------------------------------------------------------------------------
def api_files_of(user) -> QuerySet[ApiFile]:
    return ApiFile.objects.filter(owner=user).order_by("-pk")


def api_file_of(user, file_id: str, *, param: str | None = None) -> ApiFile:
    """One of the caller's files; another person's is as absent as a missing one (`ApiFileNotFound`)."""
    found = api_files_of(user).select_related("version__datanet").filter(public_id=file_id).first()
    if found is None:
        raise ApiFileNotFound(f"No file {file_id!r} among yours.", param=param)
    return found


def api_files_page(user, cursor: Cursor, *, purpose: str | None = None) -> dict:
    files = api_files_of(user)
    if purpose:
        files = files.filter(purpose=purpose)
    if cursor.after:
        files = files.filter(pk__lt=api_file_of(user, cursor.after, param="after").pk)
    return _page([file_object(f) for f in files[: cursor.limit + 1]], cursor.limit)


def file_object(api_file: ApiFile) -> dict:
    """OpenAI's FileObject. `status` is always "processed": a file is validated before it is kept."""
    return {
        "id": api_file.public_id,
        "object": "file",
        "bytes": api_file.bytes,
        "created_at": _unix(api_file.created),
        "filename": api_file.filename,
        "purpose": api_file.purpose,
        "status": "processed",
        "status_details": None,
        "expires_at": None,
    }


# --- Jobs --------------------------------------------------------------------------------------------------
def base_model_to_fine_tune(name: str) -> BaseModel:
    """A registered base model by its name (its API name); `ModelNotFound` naming the ones there are."""
    found = BaseModel.objects.filter(name=name).first()
    if found is None:
        names = ", ".join(BaseModel.objects.order_by("name").values_list("name", flat=True)) or "none yet"
        raise ModelNotFound(f"The model {name!r} is not a base model that can be fine-tuned here ({names}).")
    return found


def api_job_of(user, job_id: str) -> FineTuneJob:
    """One of the caller's jobs by its API id (`ftjob-<n>`); another's is as absent as a missing one."""
    match = _JOB_ID.match(job_id)
    job = _jobs(user).filter(pk=int(match.group(1))).first() if match else None
    if job is None:
        raise JobNotFound(f"No fine-tuning job {job_id!r} among yours.")
    return job


def api_jobs_page(user, cursor: Cursor) -> dict:
    jobs = _jobs(user).order_by("-pk")
    if cursor.after:
        jobs = jobs.filter(pk__lt=api_job_of(user, cursor.after).pk)
    return _page([job_object(job) for job in jobs[: cursor.limit + 1]], cursor.limit)


def _jobs(user) -> QuerySet[FineTuneJob]:
    return jobs_of(user).select_related("owner").prefetch_related("published")


def fine_tuned_model_of(job: FineTuneJob) -> str | None:
    """The API name the job's adapter answers under now; None until it is published (or after unpublishing).

    An API job is published by the worker right after it succeeds, under `publish_as`; a wizard job by its
    owner, under any name.
    """
    live = [m for m in job.published.all() if m.is_live and m.kind == PublishedModel.Kind.ADAPTER]
    if job.via_api:
        live = [m for m in live if m.api_name == job.publish_as]
    return live[0].api_name if live else None


def job_object(job: FineTuneJob) -> dict:
    """OpenAI's `fine_tuning.job`. An API job says `succeeded` only once its model answers (published, which
    follows success by a moment); `status_detail` is this server's own status."""
    fine_tuned_model = fine_tuned_model_of(job)
    status, error = _status_and_error(job, fine_tuned_model)
    spec = job.spec or {}
    extra = spec.get("extra") or {}
    finished = status in ("succeeded", "failed", "cancelled") and job.finished is not None
    eta = job.eta_seconds if status == "running" and job.eta_seconds is not None else None
    return {
        "id": f"{JOB_PREFIX}{job.pk}",
        "object": "fine_tuning.job",
        "model": job.base_model.name,
        "created_at": _unix(job.created),
        "finished_at": _unix(job.finished) if finished else None,
        "estimated_finish": int(time.time() + eta) if eta is not None else None,
        "fine_tuned_model": fine_tuned_model if status == "succeeded" else None,
        "organization_id": f"user-{job.owner.username}",
        "result_files": [],
        "status": status,
        "status_detail": job.status,
        "validation_file": None,
        "training_file": job.api_training_file or None,
        "hyperparameters": {
            "n_epochs": _whole(spec.get("epochs")),
            "batch_size": spec.get("batch_size"),
            "learning_rate_multiplier": extra.get("learning_rate_multiplier", "auto"),
            "preset": job.preset or extra.get("preset"),
            "method": spec.get("method"),
            "lora_r": spec.get("rank"),
            "lora_alpha": spec.get("alpha"),
            "lora_dropout": spec.get("dropout"),
            "target_modules": spec.get("target_modules"),
            "learning_rate": spec.get("learning_rate"),
            "max_steps": spec.get("max_steps"),
            "max_seq_length": spec.get("max_seq_length"),
            "eval_fraction": spec.get("eval_fraction"),
        },
        "method": {"type": "supervised"},
        "trained_tokens": _trained_tokens(job) if finished else None,
        "error": error,
        "seed": spec.get("seed", 0),
        "suffix": extra.get("suffix"),
    }


def _status_and_error(job: FineTuneJob, fine_tuned_model: str | None) -> tuple[str, dict | None]:
    S = FineTuneJob.Status
    if job.status == S.QUEUED:
        return "queued", None
    if job.status == S.RUNNING:
        return "running", None
    if job.status in (S.CANCELLING, S.CANCELLED):  # stopping within a step, irrevocably
        return "cancelled", None
    if job.status == S.FAILED:
        return "failed", {"code": "training_failed", "message": job.error or "the job failed", "param": None}
    if job.via_api and fine_tuned_model is None:
        if job.publish_error:
            message = f"trained, but its model could not be published: {job.publish_error}"
            return "failed", {"code": "publish_failed", "message": message, "param": None}
        return "running", None  # succeeded a moment ago; the worker is publishing its model
    return "succeeded", None


def _trained_tokens(job: FineTuneJob) -> int | None:
    """Tokens the training loop processed (padding excluded, every resumed part counted), as its metrics
    journal's last step says; None when the job trained nothing."""
    from modelfactory.finetuning.training.metrics_journal import read_metrics_journal

    if not job.output_dir:
        return None
    seen = [r["tokens_seen"] for r in read_metrics_journal(Path(job.output_dir)) if "tokens_seen" in r]
    return int(seen[-1]) if seen else None


def job_events_page(job: FineTuneJob, cursor: Cursor) -> dict:
    """The job's events, newest first: created, started, one `metrics` event per step (loss, eval loss,
    learning rate), and how it ended (succeeded, failed with the reason, cancelled; the model published)."""
    events = _job_events(job)
    events.sort(key=lambda event: (event["created_at"], event["_order"]), reverse=True)
    for event in events:
        del event["_order"]
    if cursor.after:
        ids = [event["id"] for event in events]
        if cursor.after not in ids:
            raise JobNotFound(f"No event {cursor.after!r} of this job.")
        events = events[ids.index(cursor.after) + 1 :]
    return _page(events[: cursor.limit + 1], cursor.limit)


def _event(job: FineTuneJob, key: str, at: datetime, message: str, *, order: int, level: str = "info", **kw):
    return {
        "id": f"ftevent-{job.pk}-{key}",
        "object": "fine_tuning.job.event",
        "created_at": _unix(at),
        "level": level,
        "message": message,
        "type": kw.get("type", "message"),
        "data": kw.get("data", {}),
        "_order": order,
    }


def _job_events(job: FineTuneJob) -> list[dict[str, Any]]:
    events = [_event(job, "created", job.created, "Created fine-tuning job", order=0)]
    if job.started:
        events.append(_event(job, "started", job.started, "Fine-tuning job started", order=1))
    total = job.max_steps or None
    for metric in JobMetric.objects.filter(job=job).order_by("step"):
        numbers = {
            "step": metric.step,
            "total_steps": total,
            "epoch": metric.epoch,
            "train_loss": metric.loss,
            "valid_loss": metric.eval_loss,
            "learning_rate": metric.learning_rate,
            "grad_norm": metric.grad_norm,
        }
        losses = [
            f"{label}={value:.4f}"
            for label, value in (("training loss", metric.loss), ("validation loss", metric.eval_loss))
            if value is not None
        ]
        message = f"Step {metric.step}{f'/{total}' if total else ''}: {', '.join(losses) or 'no loss yet'}"
        key, order = f"step-{metric.step}", 2 + metric.step
        events.append(_event(job, key, metric.recorded, message, order=order, type="metrics", data=numbers))
    end = 10**12
    S = FineTuneJob.Status
    if job.finished and job.status == S.SUCCEEDED:
        events.append(_event(job, "succeeded", job.finished, "The job has successfully completed", order=end))
    elif job.finished and job.status == S.FAILED:
        events.append(
            _event(
                job, "failed", job.finished, f"Fine-tuning job failed: {job.error}", order=end, level="error"
            )
        )
    elif job.finished and job.status == S.CANCELLED:
        events.append(_event(job, "cancelled", job.finished, "Fine-tuning job cancelled", order=end))
    published = [m for m in job.published.all() if m.api_name == job.publish_as or not job.via_api]
    for model in published[:1]:
        message = f"New fine-tuned model created: {model.api_name}"
        events.append(_event(job, "published", model.created, message, order=end + 1))
    if job.publish_error and not published:
        message = f"The model could not be published: {job.publish_error}"
        at = job.finished or job.created
        events.append(_event(job, "publish-failed", at, message, order=end + 1, level="error"))
    return events


def job_checkpoints_page(job: FineTuneJob, cursor: Cursor) -> dict:
    """The job's saved checkpoints (the trainer keeps its last two), newest first. They are what a cancelled
    or failed job resumes from; they are not served as models (only the finished adapter is)."""
    from modelfactory.finetuning.training.checkpoints import (
        CHECKPOINTS_DIRNAME,
        checkpoint_step,
        is_complete_checkpoint,
        list_checkpoints,
    )

    directory = Path(job.output_dir) / CHECKPOINTS_DIRNAME if job.output_dir else None
    found = [p for p in list_checkpoints(directory) if is_complete_checkpoint(p)] if directory else []
    steps = [checkpoint_step(path) or 0 for path in found]
    metrics = {m.step: m for m in JobMetric.objects.filter(job=job, step__in=steps)}
    name = job.publish_as or f"{JOB_PREFIX}{job.pk}"
    objects = []
    for path, step in sorted(zip(found, steps, strict=True), key=lambda pair: -pair[1]):
        metric = metrics.get(step)
        objects.append(
            {
                "id": f"ftckpt-{job.pk}-{step}",
                "object": "fine_tuning.job.checkpoint",
                "created_at": int((path / "trainer_state.json").stat().st_mtime),
                "fine_tuned_model_checkpoint": f"{name}:ckpt-step-{step}",
                "fine_tuning_job_id": f"{JOB_PREFIX}{job.pk}",
                "step_number": step,
                "metrics": {
                    "step": step,
                    "train_loss": metric.loss if metric else None,
                    "valid_loss": metric.eval_loss if metric else None,
                },
            }
        )
    if cursor.after:
        ids = [checkpoint["id"] for checkpoint in objects]
        objects = objects[ids.index(cursor.after) + 1 :] if cursor.after in ids else []
    return _page(objects[: cursor.limit + 1], cursor.limit)


# --- Shapes ------------------------------------------------------------------------------------------------
def _page(items: list[dict], limit: int) -> dict:
    """OpenAI's cursor page: up to `limit` objects (one more was read to tell whether there are more)."""
    data = items[:limit]
    return {
        "object": "list",
        "data": data,
        "has_more": len(items) > limit,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }


def _unix(moment: datetime) -> int:
    return int(moment.timestamp())


def _whole(value):
    return int(value) if isinstance(value, float) and value.is_integer() else value
