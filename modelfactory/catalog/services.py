"""Writes on the catalog."""

from __future__ import annotations

import json
import logging
import shutil
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from inference.base_model import locate_base_model
from modelfactory.catalog.errors import PublishRefused
from modelfactory.catalog.models import AdapterImport, BaseModel, CompositePart, PublishedModel
from modelfactory.ledger.open_amounts import open_units
from modelfactory.worker_attempts import (
    attempt_begin,
    attempts_exhausted,
    message_maybe_lost,
    worker_died_reason,
)

logger = logging.getLogger(__name__)


def _parameter_count(directory: Path) -> int | None:
    """Count parameters from the safetensors headers, without loading any weights."""
    total, found = 0, False
    for path in directory.glob("*.safetensors"):
        with path.open("rb") as handle:
            header_size = int.from_bytes(handle.read(8), "little")
            header = json.loads(handle.read(header_size))
        for name, tensor in header.items():
            if name == "__metadata__":
                continue
            count = 1
            for dimension in tensor["shape"]:
                count *= dimension
            total += count
            found = True
    return total if found else None


@transaction.atomic
def base_model_register(
    *, name: str, source: str, description: str = "", make_default: bool = False
) -> BaseModel:
    """Register (or refresh) a base model; raises `BaseModelNotFound` with the fix when it is not there."""
    info = locate_base_model(source)
    model, _ = BaseModel.objects.update_or_create(
        name=name,
        defaults={
            "source": source,
            "architecture": info.architecture,
            "model_type": info.model_type,
            "context_length": info.context_length,
            "parameter_count": _parameter_count(info.path),
            "description": description,
        },
    )
    if make_default or not BaseModel.objects.filter(is_default=True).exclude(pk=model.pk).exists():
        BaseModel.objects.exclude(pk=model.pk).update(is_default=False)
        model.is_default = True
        model.save(update_fields=["is_default"])
    base_model_publish(base_model=model)
    return model


FEE_NAMES = {
    "fee_rate_in": "the fee per 1,000 prompt tokens",
    "fee_rate_out": "the fee per 1,000 generated tokens",
    "fee_platform": "the fee per request",
}


def _checked_fees(**fees: int | None) -> dict[str, int | None]:
    """Fees in base units, each None (the platform default) or from 0 up to ``MODELFACTORY_FEE_MAX``.

    Checked here, not only in forms: every way of setting a fee (publishing, composing, importing,
    editing, a script) must meet the same bound, or a caller could be charged any amount.
    """
    most = settings.MODELFACTORY_FEE_MAX
    for name, value in fees.items():
        if value is None:
            continue
        if isinstance(value, bool) or int(value) != value:
            raise PublishRefused(f"{FEE_NAMES[name]} must be a whole number of base units, not {value!r}")
        if value < 0:
            raise PublishRefused(f"{FEE_NAMES[name]} cannot be negative")
        if value > most:
            asked, allowed = open_units(value), open_units(most)
            raise PublishRefused(f"{FEE_NAMES[name]} can be at most {allowed:,f} OPEN, not {asked:,f} OPEN")
    return {name: None if value is None else int(value) for name, value in fees.items()}


def base_model_publish(*, base_model: BaseModel) -> PublishedModel:
    """Every registered base model is also servable as itself, under its own name."""
    published, _ = PublishedModel.objects.update_or_create(
        api_name=base_model.name,
        defaults={
            "title": base_model.name,
            "kind": PublishedModel.Kind.BASE,
            "base_model": base_model,
            "description": base_model.description,
            "is_live": True,
        },
    )
    return published


@transaction.atomic
def model_publish_from_job(
    *,
    job,
    user,
    api_name: str,
    title: str,
    description: str = "",
    access: str = PublishedModel.Access.PUBLIC,
    fee_rate_in: int | None = None,
    fee_rate_out: int | None = None,
    fee_platform: int | None = None,
) -> PublishedModel:
    """Publish a finished job's adapter under an API name; servable at once, no restart.

    Publishing the same API name again (a retrained adapter) bumps its version, so every engine
    loads the new weights instead of serving cached old ones. An adapter the engine could not serve
    is refused here with the engine's reason (`_require_servable`), not on its first request.
    """
    from modelfactory.finetuning.errors import JobRefused
    from modelfactory.finetuning.export_services import adapter_directory
    from modelfactory.finetuning.models import FineTuneJob
    from modelfactory.finetuning.services import job_datanets_require_usable

    if job.owner_id != user.pk:
        raise PublishRefused("only the person who launched the job can publish its adapter")
    if job.status != FineTuneJob.Status.SUCCEEDED:
        raise PublishRefused("only a job that succeeded has an adapter to publish")
    try:
        job_datanets_require_usable(user, job.datanet_versions.select_related("datanet"))
    except JobRefused as refused:
        raise PublishRefused(f"this adapter cannot be published: {refused}") from None
    if access not in PublishedModel.Access.values:
        raise PublishRefused(f"unknown access policy {access!r}")
    fees = _checked_fees(fee_rate_in=fee_rate_in, fee_rate_out=fee_rate_out, fee_platform=fee_platform)
    existing = PublishedModel.objects.select_for_update().filter(api_name=api_name).first()
    if existing and (existing.owner_id != user.pk or existing.kind != PublishedModel.Kind.ADAPTER):
        raise PublishRefused(f"the API name {api_name!r} is taken; choose another")
    _require_servable(adapter_directory(job), job.base_model, api_name)
    published = existing or PublishedModel(api_name=api_name, kind=PublishedModel.Kind.ADAPTER, owner=user)
    published.title, published.description, published.access = title or api_name, description, access
    published.base_model, published.job = job.base_model, job
    published.adapter_path = str(adapter_directory(job))
    published.is_live = True
    for name, value in fees.items():
        setattr(published, name, value)
    published.version = (existing.version + 1) if existing else 1
    published.full_clean()
    published.save()
    from modelfactory.attribution.index_services import indexes_request_for
    from modelfactory.catalog.adapter_origin_services import job_fingerprint_record

    job_fingerprint_record(job=job)  # so that a copy of it, downloaded and imported, keeps its lineage
    indexes_request_for(published=published)
    return published


def _require_servable(directory: Path, base_model: BaseModel, name: str) -> None:
    """Refuse publishing an adapter the serving engine could not serve (the checks the engine makes when
    it loads one: config, weights, served modules and shapes, rank), read without loading the base.
    Imports are checked the same way while they are unpacked (`adapter_import.unpack_adapter_zip`)."""
    from modelfactory.catalog.adapter_import import servability_refusal

    problem = servability_refusal(
        Path(directory), base_model.source, max_rank=settings.MODELFACTORY_ADAPTER_MAX_RANK, name=name
    )
    if problem:
        raise PublishRefused(
            f"this adapter cannot be published because the engine could not serve it: {problem}"
        )


def model_unpublish(*, published: PublishedModel, user) -> PublishedModel:
    if published.owner_id != user.pk:
        raise PublishRefused("only the owner can unpublish a model")
    published.is_live = False
    published.save(update_fields=["is_live", "updated"])
    return published


def model_grant(*, published: PublishedModel, owner, user) -> None:
    if published.owner_id != owner.pk:
        raise PublishRefused("only the owner can grant access")
    published.allowed_users.add(user)


def model_revoke(*, published: PublishedModel, owner, user) -> None:
    if published.owner_id != owner.pk:
        raise PublishRefused("only the owner can revoke access")
    published.allowed_users.remove(user)


@transaction.atomic
def composite_create(
    *,
    user,
    api_name: str,
    title: str,
    parts: list[tuple[str, float]],
    method: str = "linear",
    density: float = 1.0,
    description: str = "",
    access: str = PublishedModel.Access.PUBLIC,
) -> PublishedModel:
    """A weighted merge of adapters on one base, served by the engine without a merged model.

    TIES and DARE build a derived adapter once per recipe (the engine caches it by recipe). Every part
    must be a live adapter the composer may use now; the parts are also stored as rows
    (`CompositePart`), so that every later request checks them again for its caller
    (`selectors.composite_parts_for`): composing never widens who may reach an adapter.
    """
    from inference.adapter_merging import MERGE_METHODS

    if method not in MERGE_METHODS:
        raise PublishRefused(
            f"unknown merge method {method!r}; choose one of {', '.join(sorted(MERGE_METHODS))}"
        )
    if len(parts) < 2:
        raise PublishRefused("a composite needs at least two adapters")
    if any(weight <= 0 for _, weight in parts):
        raise PublishRefused("every weight must be positive")
    names = [name for name, _ in parts]
    if duplicated := sorted({name for name in names if names.count(name) > 1}):
        raise PublishRefused(f"each adapter can be merged once: {', '.join(duplicated)} appears twice")
    from modelfactory.catalog.selectors import models_usable_by

    adapters = {
        m.api_name: m
        for m in models_usable_by(user).filter(
            kind=PublishedModel.Kind.ADAPTER, api_name__in=[name for name, _ in parts]
        )
    }
    if missing := [name for name, _ in parts if name not in adapters]:
        raise PublishRefused(f"not adapters you may use: {', '.join(missing)}")
    bases = {adapter.base_model_id for adapter in adapters.values()}
    if len(bases) != 1:
        raise PublishRefused("the adapters were trained on different base models and cannot be merged")
    if dora := [name for name, _ in parts if _is_dora(adapters[name].adapter_path)]:
        raise PublishRefused(
            f"{', '.join(dora)} {'is a DoRA adapter' if len(dora) == 1 else 'are DoRA adapters'}, which "
            "cannot be merged: DoRA rescales the whole weight, so the engine serves it only on its own"
        )
    if PublishedModel.objects.filter(api_name=api_name).exists():
        raise PublishRefused(f"the API name {api_name!r} is taken; choose another")
    if access not in PublishedModel.Access.values:
        raise PublishRefused(f"unknown access policy {access!r}")
    composite = PublishedModel.objects.create(
        api_name=api_name,
        title=title or api_name,
        description=description,
        kind=PublishedModel.Kind.COMPOSITE,
        base_model_id=bases.pop(),
        owner=user,
        access=access,
        recipe={
            "method": method,
            "density": density,
            "adapters": [[name, float(weight)] for name, weight in parts],
        },
    )
    CompositePart.objects.bulk_create(
        CompositePart(composite=composite, part=adapters[name], weight=float(weight), position=position)
        for position, (name, weight) in enumerate(parts)
    )
    return composite


def _is_dora(adapter_path: str) -> bool:
    """Whether a published adapter is DoRA (its config says so); unreadable ones are the engine's to
    report when asked to serve them."""
    from inference.adapter_weights import uses_dora
    from inference.errors import EngineError

    try:
        return uses_dora(adapter_path)
    except EngineError:
        return False


def adapter_import_receive(
    *,
    user,
    base_model: BaseModel,
    api_name: str,
    title: str,
    file: UploadedFile,
    description: str = "",
    access: str = PublishedModel.Access.PUBLIC,
    fee_rate_in: int | None = None,
    fee_rate_out: int | None = None,
    fee_platform: int | None = None,
) -> AdapterImport:
    """Store an uploaded adapter zip and queue its import on a worker; nothing in it is decompressed here.

    What can be refused at once is (a taken name, a zip over the limit, a directory that declares a
    decompression bomb or pickle files: `adapter_import.inspect_zip` reads only the zip's directory); the
    rest — unpacking, parsing weights, shape checks, fingerprinting — runs on a worker
    (`adapter_import_run`), because the web process that takes the upload also serves every answer.
    """
    from modelfactory.catalog.adapter_import import AdapterImportRefused, inspect_zip

    _require_free_api_name(api_name)
    if access not in PublishedModel.Access.values:
        raise PublishRefused(f"unknown access policy {access!r}")
    fees = _checked_fees(fee_rate_in=fee_rate_in, fee_rate_out=fee_rate_out, fee_platform=fee_platform)
    limit = settings.MODELFACTORY_ADAPTER_IMPORT_MAX_BYTES
    if file.size > limit:
        raise AdapterImportRefused(
            f"the zip is {file.size / 2**20:,.1f} MB; the limit is {limit / 2**20:,.1f} MB "
            "(LoRA adapters are usually megabytes)"
        )
    directory = Path(settings.VAR_DIR) / "adapter-imports" / uuid.uuid4().hex
    directory.mkdir(parents=True)
    stored = directory / "adapter.zip"
    with stored.open("wb") as out:
        for chunk in file.chunks():
            out.write(chunk)
    try:
        inspect_zip(stored, max_bytes=limit)
    except AdapterImportRefused:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    with transaction.atomic():
        row = AdapterImport.objects.create(
            owner=user,
            base_model=base_model,
            api_name=api_name,
            title=title or api_name,
            description=description,
            access=access,
            filename=Path(file.name or "adapter.zip").name,
            stored_path=str(stored),
            size_bytes=stored.stat().st_size,
            **fees,
        )
        transaction.on_commit(lambda: adapter_import_enqueue(import_id=row.pk))
    return row


def adapter_import_enqueue(*, import_id: int) -> None:
    from modelfactory.catalog.tasks import import_adapter

    AdapterImport.objects.filter(pk=import_id).update(queued_at=timezone.now())
    import_adapter.delay(import_id)


def adapter_imports_resend_lost() -> list[int]:
    """Imports still waiting MODELFACTORY_JOB_RESEND_AFTER_S after their message was sent get it again.

    A lost message would leave the page saying "waiting for a worker" for ever; a duplicate of one that
    was only waiting does nothing (`adapter_import_run` returns for an import already ended or counted).
    """
    lost = AdapterImport.objects.filter(message_maybe_lost(), status=AdapterImport.Status.QUEUED)
    resent = list(lost.values_list("pk", flat=True))
    for import_id in resent:
        logger.warning("adapter import %s was never picked up: its message is sent again", import_id)
        adapter_import_enqueue(import_id=import_id)
    return resent


def adapter_import_run(*, import_id: int) -> None:
    """Unpack, check and publish a stored zip (on a worker); idempotent, and failed visibly when it must.

    A redelivered message for an import already ended does nothing; an import whose workers died
    ``MODELFACTORY_TASK_MAX_ATTEMPTS`` times (weights that exhaust memory, say) fails with that reason
    instead of killing the next worker. The stored zip is deleted once the import ends either way.
    """
    from modelfactory.catalog.adapter_import import AdapterImportRefused

    row = AdapterImport.objects.select_related("base_model", "owner").get(pk=import_id)
    if row.status not in AdapterImport.ACTIVE:
        return
    if attempts_exhausted(attempt_begin(AdapterImport.objects.filter(pk=row.pk))):
        error = worker_died_reason("importing this adapter")
        _adapter_import_finish(row, AdapterImport.Status.FAILED, error=error)
        return
    AdapterImport.objects.filter(pk=row.pk).update(status=AdapterImport.Status.IMPORTING)
    try:
        published = _adapter_import_publish(row=row)
    except (PublishRefused, AdapterImportRefused) as error:
        _adapter_import_finish(row, AdapterImport.Status.FAILED, error=str(error))
    except Exception as error:  # SoftTimeLimitExceeded included: never leave the page saying "importing"
        logger.exception("adapter import %s failed", row.pk)
        _adapter_import_finish(
            row,
            AdapterImport.Status.FAILED,
            error=f"the import stopped unexpectedly ({type(error).__name__}: {error}); nothing was published",
        )
    else:
        _adapter_import_finish(row, AdapterImport.Status.IMPORTED, published=published)


def _adapter_import_publish(*, row: AdapterImport) -> PublishedModel:
    """Publish the import's adapter, after the safety and shape checks.

    Lineage cannot be stripped by downloading an adapter trained here and importing it again: the import
    is compared with every adapter trained on the same base (`adapter_origin.origin_of`), and a copy
    (same files, or near-identical weights) keeps the original job as its lineage, so its answers credit
    the original's datanets and pay its contributors and developer. An import that is no copy says
    "origin unknown: imported without lineage" on its page and its receipts.

    Unpacked into a folder of its own import (not of its API name), so that two imports racing for one
    name can never write into each other's weights.
    """
    from modelfactory.catalog.adapter_import import unpack_adapter_zip
    from modelfactory.catalog.adapter_origin_services import fingerprint_of_directory, origin_of

    _require_free_api_name(row.api_name)
    directory = unpack_adapter_zip(
        path=Path(row.stored_path),
        base_model=row.base_model,
        target=_import_target(row),
        max_bytes=settings.MODELFACTORY_ADAPTER_IMPORT_MAX_BYTES,
        max_rank=settings.MODELFACTORY_ADAPTER_MAX_RANK,
        deadline=time.monotonic() + settings.MODELFACTORY_IMPORT_TIME_LIMIT_S,
    )
    print_ = fingerprint_of_directory(directory, row.base_model)
    origin = origin_of(base_model=row.base_model, print_=print_)
    try:
        with transaction.atomic():
            published = _adapter_import_create(row=row, directory=directory, origin=origin, print_=print_)
    except IntegrityError:  # another import or publish took the name while this one was unpacking
        raise PublishRefused(f"the API name {row.api_name!r} is taken; choose another") from None
    return published


def _adapter_import_create(*, row: AdapterImport, directory: Path, origin, print_) -> PublishedModel:
    from modelfactory.catalog.adapter_origin_services import import_fingerprint_record

    published = PublishedModel.objects.create(
        api_name=row.api_name,
        title=row.title,
        description=row.description,
        kind=PublishedModel.Kind.ADAPTER,
        base_model=row.base_model,
        owner=row.owner,
        access=row.access,
        adapter_path=str(directory),
        origin_job=origin.job if origin else None,
        origin_match=origin.match if origin else "",
        origin_similarity=origin.share if origin else None,
        fee_rate_in=row.fee_rate_in,
        fee_rate_out=row.fee_rate_out,
        fee_platform=row.fee_platform,
    )
    import_fingerprint_record(published=published, print_=print_)
    return published


def _adapter_import_finish(
    row: AdapterImport, status: str, *, error: str = "", published: PublishedModel | None = None
) -> None:
    AdapterImport.objects.filter(pk=row.pk).update(
        status=status, error=error, published=published, finished=timezone.now()
    )
    shutil.rmtree(Path(row.stored_path).parent, ignore_errors=True)
    if published is None:  # unpacked, then refused (a name taken meanwhile): nothing will serve it
        shutil.rmtree(_import_target(row), ignore_errors=True)


def _import_target(row: AdapterImport) -> Path:
    return Path(settings.VAR_DIR) / "adapters" / f"import-{row.pk}"


def _require_free_api_name(api_name: str) -> None:
    if PublishedModel.objects.filter(api_name=api_name).exists():
        raise PublishRefused(f"the API name {api_name!r} is taken; choose another")


def model_set_fees(
    *, published: PublishedModel, fee_rate_in: int | None, fee_rate_out: int | None, fee_platform: int | None
) -> PublishedModel:
    """The owner's own rates (OPEN base units); None keeps the platform default for that part."""
    fees = _checked_fees(fee_rate_in=fee_rate_in, fee_rate_out=fee_rate_out, fee_platform=fee_platform)
    for name, value in fees.items():
        setattr(published, name, value)
    published.save(update_fields=[*fees, "updated"])
    return published


def model_settings_update(
    *,
    published: PublishedModel,
    user,
    description: str,
    access: str,
    fee_rate_in: int | None,
    fee_rate_out: int | None,
    fee_platform: int | None,
) -> PublishedModel:
    """What the owner may change after publishing: description, access and fees (base units).

    The API name, weights and version stay: callers keep their model name, and the engine serves the
    same adapter. Only the owner may change them; fees meet the same bound as at publishing.
    """
    if published.owner_id is None or published.owner_id != user.pk:
        raise PublishRefused("only the model's owner can change its description, access or fees")
    if access not in PublishedModel.Access.values:
        raise PublishRefused(f"unknown access policy {access!r}")
    fees = _checked_fees(fee_rate_in=fee_rate_in, fee_rate_out=fee_rate_out, fee_platform=fee_platform)
    published.description, published.access = description.strip(), access
    for name, value in fees.items():
        setattr(published, name, value)
    published.full_clean()
    published.save(update_fields=["description", "access", *fees, "updated"])
    return published


PREVIEW_PROMPT_MAX_CHARS = 2000
PREVIEW_MAX_TOKENS = 48


def composite_preview(
    *, user, parts: list[tuple[PublishedModel, float]], method: str, density: float, prompt: str
) -> list[dict]:
    """Each part's answer and the merge's to `prompt`, nothing saved: `[{"label", "text", "error"}]`.

    Every answer counts in the account's per-minute request limit (the engine is shared) and the whole
    preview holds one of its answers-in-flight slots; both raise `Throttled` before anything runs.
    Previews are short (48 tokens) and not charged: they exist to choose weights before a composite
    is published, after which every answer is paid for.
    """
    from inference.sampling import SamplingParams
    from modelfactory.accounts.throttle_services import (
        answer_slot_release,
        answer_slot_take,
        user_request_admit,
    )
    from modelfactory.serving import engine_runtime

    if len(parts) < 2:
        raise PublishRefused("Give at least two adapters a weight.")
    if len(prompt) > PREVIEW_PROMPT_MAX_CHARS:
        raise PublishRefused(f"Keep the preview prompt under {PREVIEW_PROMPT_MAX_CHARS} characters.")
    user_request_admit(user=user, count=len(parts) + 1)
    merge = PublishedModel(
        kind=PublishedModel.Kind.COMPOSITE,
        base_model=parts[0][0].base_model,
        api_name="preview",
        recipe={
            "method": method,
            "density": density,
            "adapters": [(part.api_name, weight) for part, weight in parts],
        },
    )
    candidates = [(part.api_name, part) for part, _ in parts] + [("merge", merge)]
    slot = answer_slot_take(user=user)
    try:
        text = engine_runtime.chat_prompt([{"role": "user", "content": prompt}])
        sampling = SamplingParams(max_tokens=PREVIEW_MAX_TOKENS)
        engine = engine_runtime.engine()
        handles = [
            (label, engine.submit(engine_runtime.request_for(model, prompt=text, sampling=sampling)))
            for label, model in candidates
        ]
        answers = []
        for label, handle in handles:
            completion = handle.result(timeout=120)
            answers.append(
                {
                    "label": label,
                    "text": completion.text,
                    "error": str(completion.error) if completion.error else "",
                }
            )
        return answers
    finally:
        answer_slot_release(slot)
