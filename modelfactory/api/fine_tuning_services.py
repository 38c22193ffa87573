"""Writes of /v1/files and /v1/fine_tuning/jobs: files become datanet versions, jobs go through `job_create`.

A file is an upload like any other (the same size limit and daily quota, `datanets.upload_services`; the same
row-by-row validation, `datanets.ingest`), into a new permissioned datanet that only its owner may use,
imported all or nothing and published as that datanet's first version; the file object is that version.
Everything happens in one transaction: a file with one bad row leaves nothing behind, and its refusal
names the bad lines.

A job is the wizard's: a preset for this machine's hardware with the request's hyperparameters as
overrides, checked by `TrainingSpec`, then `finetuning.services.job_create` with its bounds and limits
(tokens per job, jobs per account, access to the data). It is marked `via_api`, so that the worker
publishes its adapter the moment it succeeds, private to its owner, under `fine_tuned_model_name`.
"""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from datanets.ingest import ColumnMapping
from datanets.models import Datanet, Row, Upload
from datanets.services import datanet_create, datanet_delete_unless_trained_on, version_publish
from datanets.upload_services import upload_directory, upload_import_inline, upload_receive
from modelfactory.accounts.models import User
from modelfactory.api.errors import ApiFileRefused, InvalidParameter
from modelfactory.api.fine_tuning_parameters import PARAM_OF, FineTuningAsk
from modelfactory.api.fine_tuning_selectors import (
    JOB_PREFIX,
    api_file_of,
    api_job_of,
    base_model_to_fine_tune,
)
from modelfactory.api.models import ApiFile
from modelfactory.finetuning.models import FineTuneJob
from modelfactory.finetuning.services import job_cancel, job_create

FINE_TUNE = "fine-tune"
MESSAGES_COLUMN = ColumnMapping(messages="messages")
"""OpenAI's chat fine-tuning format: one {"messages": [{"role", "content"}, ...]} object per line."""
REFUSALS_SHOWN = 5
API_NAME_MAX = 100  # `PublishedModel.api_name`


# --- Files ---------------------------------------------------------------------------------------------
def api_file_create(*, user: User, file: UploadedFile | None, purpose: str | None) -> ApiFile:
    """Validate and store a training file as a private datanet's first version, or refuse it whole."""
    if purpose != FINE_TUNE:
        raise ApiFileRefused(
            f"purpose must be {FINE_TUNE!r}, the only files kept here, got {purpose!r}", param="purpose"
        )
    if file is None:
        raise ApiFileRefused("no file: send it as the multipart field 'file'")
    name = Path(file.name or "").name
    if not name.lower().endswith(".jsonl"):
        raise ApiFileRefused(
            f"{name or 'the file'!r} is not a .jsonl file: a fine-tuning file is JSON Lines, one "
            '{"messages": [...]} object per line'
        )
    public_id = "file-" + secrets.token_hex(12)
    directory: Path | None = None
    try:
        with transaction.atomic():
            datanet = datanet_create(
                owner=user,
                title=f"{name[:150]} (API file {public_id})",
                slug=f"api-{public_id}",
                description=f"Uploaded through the API as {public_id}; only its owner may use it.",
                tags=["api-file"],
                license="private",
                expected_format=Row.Format.MESSAGES,
                visibility=Datanet.Visibility.PERMISSIONED,
            )
            upload = upload_receive(datanet=datanet, uploader=user, file=file)
            directory = upload_directory(upload)
            upload = upload_import_inline(upload=upload, user=user, mapping=MESSAGES_COLUMN)
            if upload.status != Upload.Status.IMPORTED:
                raise ApiFileRefused(_refusal(upload, name))
            version = version_publish(datanet=datanet, notes=f"Uploaded through the API as {public_id}.")
            return ApiFile.objects.create(
                public_id=public_id,
                owner=user,
                version=version,
                filename=name,
                bytes=file.size,
                purpose=FINE_TUNE,
            )
    except BaseException:
        if directory is not None:  # the rejections report of an upload that no longer exists
            shutil.rmtree(directory, ignore_errors=True)
        raise


def _refusal(upload: Upload, name: str) -> str:
    if upload.status == Upload.Status.FAILED:
        return f"{name} was not imported: {upload.error}; nothing was created"
    lines = []
    if upload.rejections_path and Path(upload.rejections_path).is_file():
        with Path(upload.rejections_path).open(encoding="utf-8") as report:
            for text in report:
                rejection = json.loads(text)
                lines.append(f"line {rejection['line']}: {rejection['reason']}")
                if len(lines) == REFUSALS_SHOWN:
                    break
    count = upload.rejected_count
    more = f" (the first {REFUSALS_SHOWN} shown)" if count > len(lines) and lines else ""
    return (
        f"{count} line{'s' if count != 1 else ''} of {name} cannot be trained on, so nothing was created"
        f"{more}: {'; '.join(lines)}. Fix them and upload the file again."
    )


def api_file_delete(*, user: User, file_id: str) -> dict:
    """Delete the file; its datanet goes with it unless a job trained on it (then it is archived and kept,
    because jobs keep their lineage). Says which, and which jobs keep it."""
    with transaction.atomic():
        api_file = api_file_of(user, file_id)
        datanet = api_file.version.datanet
        jobs = sorted(api_file.version.finetune_jobs.values_list("pk", flat=True))
        api_file.delete()
        deleted = datanet_delete_unless_trained_on(datanet=datanet, user=user)
    kept_for = [f"{JOB_PREFIX}{pk}" for pk in jobs]
    return {"id": file_id, "object": "file", "deleted": True, "data_kept": not deleted, "kept_for": kept_for}


# --- Jobs ----------------------------------------------------------------------------------------------
def fine_tuned_model_name(*, base: str, tag: str, job_id: int) -> str:
    """`ft-<base>-<suffix or username>-<job id>`: OpenAI's `ft:<base>:<org>:<suffix>:<id>` said in a slug
    (letters, digits, hyphens and underscores), the only API names the catalog takes; the job id makes it
    unique. The parts are shortened to fit the catalog's 100 characters."""
    from django.utils.text import slugify

    tail = f"-{job_id}"
    base_part, tag_part = slugify(base)[:40].strip("-"), (slugify(tag) or "user")[:40].strip("-")
    return f"ft-{base_part}-{tag_part}{tail}"[:API_NAME_MAX]


def api_job_create(*, user: User, ask: FineTuningAsk) -> FineTuneJob:
    """The wizard's job from an API request: preset + overrides, checked, launched, marked `via_api`."""
    from modelfactory.finetuning.training.capabilities import detect_capabilities
    from modelfactory.finetuning.training.spec import SpecInvalid, preset

    base = base_model_to_fine_tune(ask.model)
    training_file = api_file_of(user, ask.training_file, param="training_file")
    capabilities = detect_capabilities()
    overrides = dict(ask.overrides)
    if overrides.get("method") == "qlora" and not capabilities.qlora.available:
        raise InvalidParameter(f"qlora cannot train here: {capabilities.qlora.reason}", param="method")
    try:
        spec = preset(
            ask.preset,
            base.source,
            hardware=capabilities.hardware,
            context_length=base.context_length,
            **overrides,
        )
        if ask.learning_rate_multiplier is not None:
            spec = spec.replace(learning_rate=spec.learning_rate * ask.learning_rate_multiplier)
    except SpecInvalid as error:
        param = PARAM_OF.get(error.field, f"hyperparameters.{error.field}")
        raise InvalidParameter(f"{param}: {error.reason}", param=param) from None
    notes = {"learning_rate_multiplier": ask.learning_rate_multiplier or "auto", "suffix": ask.suffix or None}
    spec = spec.replace(extra={**spec.extra, **notes})
    with transaction.atomic():  # the job is queued when this commits, marked and named by then
        job = job_create(
            owner=user,
            name=f"{ask.suffix or base.name} on {training_file.filename}"[:120],
            base_model=base,
            versions=[training_file.version],
            spec=spec.to_json(),
            preset=ask.preset,
            gpus=1 if capabilities.gpu_count else 0,
        )
        job.via_api, job.api_training_file = True, training_file.public_id
        job.publish_as = fine_tuned_model_name(base=base.name, tag=ask.suffix or user.username, job_id=job.pk)
        job.save(update_fields=["via_api", "api_training_file", "publish_as"])
    return api_job_of(user, f"{JOB_PREFIX}{job.pk}")


def api_job_cancel(*, user: User, job_id: str) -> FineTuneJob:
    job_cancel(job=api_job_of(user, job_id), user=user)
    return api_job_of(user, job_id)
