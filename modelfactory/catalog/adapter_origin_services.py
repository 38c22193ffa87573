"""Where an adapter comes from: fingerprints of every adapter trained here, and the origin of an import.

Downloading a fine-tuned adapter and importing it again must not strip its lineage, or its contributors
go unpaid in two clicks. So every adapter trained here has a stored fingerprint (`AdapterFingerprint`:
the weights' sha256 and a few random projections of each module's delta), written when it is published
and, for jobs finished before that or never published (their owner can still download them), when an
import first needs it. An import is compared with the adapters trained on the same base model: the same
file, or near-identical deltas on most modules (`adapter_fingerprint.is_copy`), make it a copy, and the
copy keeps the original's job as its lineage. Nothing in the uploaded zip is trusted for this: a
manifest can be forged or dropped, weights cannot be changed much without changing the answers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from modelfactory.catalog.adapter_fingerprint import SCHEME, Fingerprint, fingerprint, is_copy, weights_sha256
from modelfactory.catalog.models import AdapterFingerprint, BaseModel, PublishedModel

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Origin:
    job: object  # FineTuneJob
    match: str  # "files" or "weights"
    share: float


def fingerprint_of_directory(directory: Path, base_model: BaseModel) -> Fingerprint:
    """Read the adapter as the engine would (scaling folded in, shapes checked) and fingerprint it."""
    from inference.adapter_weights import read_adapter
    from modelfactory.catalog.adapter_import import module_shapes

    weights = read_adapter("fingerprint", Path(directory), module_shapes(base_model.source))
    return fingerprint(weights.weights, sha256=weights_sha256(directory))


def _stored(record: AdapterFingerprint) -> Fingerprint:
    return Fingerprint.from_stored(
        weights_sha256=record.weights_sha256, modules=record.modules, sketch=record.sketch
    )


def _store(*, print_: Fingerprint, base_model: BaseModel, job=None, published=None) -> AdapterFingerprint:
    record, _ = AdapterFingerprint.objects.update_or_create(
        **({"job": job} if job is not None else {"published": published}),
        defaults={
            "base_model": base_model,
            "weights_sha256": print_.weights_sha256,
            "scheme": SCHEME,
            "modules": [list(module) for module in print_.modules],
            "sketch": print_.to_bytes(),
        },
    )
    return record


def job_fingerprint_record(*, job) -> AdapterFingerprint | None:
    """The job's stored fingerprint, computed and stored when missing or of an older scheme; None when
    the job has no adapter on disk (failed, cancelled, or its files removed)."""
    from inference.errors import EngineError
    from modelfactory.finetuning.export_services import adapter_directory

    existing = AdapterFingerprint.objects.filter(job=job, scheme=SCHEME).first()
    if existing is not None:
        return existing
    directory = adapter_directory(job) if job.output_dir else None
    if directory is None or not directory.is_dir():
        return None
    try:
        print_ = fingerprint_of_directory(directory, job.base_model)
    except EngineError as error:
        logger.warning("job %s: adapter cannot be fingerprinted: %s", job.pk, error)
        return None
    return _store(print_=print_, base_model=job.base_model, job=job)


def import_fingerprint_record(*, published: PublishedModel, print_: Fingerprint) -> AdapterFingerprint:
    return _store(print_=print_, base_model=published.base_model, published=published)


def _trained_fingerprints(base_model: BaseModel) -> list[AdapterFingerprint]:
    """Fingerprints of every adapter trained on `base_model`, computing those not stored yet."""
    from modelfactory.finetuning.models import FineTuneJob

    missing = FineTuneJob.objects.filter(base_model=base_model, status=FineTuneJob.Status.SUCCEEDED).exclude(
        fingerprint__scheme=SCHEME
    )
    for job in missing.select_related("base_model"):
        job_fingerprint_record(job=job)
    return list(
        AdapterFingerprint.objects.filter(base_model=base_model, scheme=SCHEME, job__isnull=False)
        .select_related("job")
        .order_by("job__created", "job_id")
    )


def origin_of(*, base_model: BaseModel, print_: Fingerprint) -> Origin | None:
    """The adapter trained here that `print_` is a copy of, or None: the oldest one on an exact file
    match, else the closest one above the match thresholds (the oldest on a tie: the original, not a
    later re-training of the same rows)."""
    records = _trained_fingerprints(base_model)
    for record in records:
        if record.weights_sha256 == print_.weights_sha256:
            return Origin(record.job, "files", 1.0)
    best: Origin | None = None
    for record in records:
        copied, share = is_copy(_stored(record), print_)
        if copied and (best is None or share > best.share):
            best = Origin(record.job, "weights", share)
    return best
