"""What a finished job hands over: the adapter as a zip, and a merged full model on request.

The zip holds the standard PEFT files plus the manifest, so PEFT, vLLM and LoRAX load it as is and
the provenance travels with it. Merging writes a plain Hugging Face model (base weights + LoRA
folded in) for tools that know nothing of adapters; it runs on a worker because it loads the base.
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Iterator
from pathlib import Path

from modelfactory.finetuning.errors import ArtifactNotReady
from modelfactory.finetuning.models import FineTuneJob
from modelfactory.worker_attempts import attempt_begin, attempts_exhausted, worker_died_reason
from primitives.atomic_files import staged_directory

logger = logging.getLogger(__name__)


def adapter_directory(job: FineTuneJob) -> Path:
    return Path(job.output_dir) / "adapter"


def merged_directory(job: FineTuneJob) -> Path:
    return Path(job.output_dir) / "merged"


def adapter_zip(job: FineTuneJob) -> bytes:
    """The adapter files and the manifest, zipped; adapters are megabytes, so memory is fine."""
    if job.status != FineTuneJob.Status.SUCCEEDED:
        raise ArtifactNotReady("the adapter is ready when the job has succeeded")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(adapter_directory(job).iterdir()):
            archive.write(path, arcname=path.name)
        manifest = Path(job.output_dir) / "manifest.json"
        if manifest.is_file():
            archive.write(manifest, arcname="manifest.json")
    return buffer.getvalue()


MERGED_ZIP_BLOCK = 1 << 20
"""Bytes read from a weights file at a time while streaming the merged zip: memory stays at about this."""


class _Pending(io.RawIOBase):
    """A write-only sink that hands its bytes over when drained: zipfile writes, the response reads.

    It cannot seek, so zipfile writes each entry's sizes after its data (a data descriptor), which
    every unzip tool reads; nothing has to be held back to patch a header.
    """

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        data, self._chunks = b"".join(self._chunks), []
        return data


def merged_zip_stream(job: FineTuneJob) -> Iterator[bytes]:
    """`merged_zip_chunks`, once the export has finished (`ArtifactNotReady` before: checked now, not at
    the first chunk, so the refusal is a status rather than a broken download)."""
    if job.merged_status != "ready" or not merged_directory(job).is_dir():
        raise ArtifactNotReady("the merged model is ready once its export has finished")
    return merged_zip_chunks(job)


def merged_zip_chunks(job: FineTuneJob) -> Iterator[bytes]:
    """The merged model's folder as a zip, produced block by block: a full model is gigabytes, so it is
    never built in memory or on disk. Weights are stored, not deflated (they hardly compress)."""
    directory = merged_directory(job)
    sink = _Pending()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            arcname = path.relative_to(directory).as_posix()
            with path.open("rb") as source, archive.open(arcname, "w", force_zip64=True) as entry:
                while block := source.read(MERGED_ZIP_BLOCK):
                    entry.write(block)
                    yield sink.drain()
        manifest = Path(job.output_dir) / "manifest.json"
        if manifest.is_file():
            archive.write(manifest, arcname="manifest.json")
    yield sink.drain()


def merged_export_request(*, job: FineTuneJob) -> bool:
    """Queue the merge once; a second click while it runs, or after it is ready, does nothing."""
    changed = FineTuneJob.objects.filter(
        pk=job.pk, status=FineTuneJob.Status.SUCCEEDED, merged_status__in=["", "failed"]
    ).update(merged_status="exporting", merged_attempts=0, merged_error="")
    if changed:
        from modelfactory.finetuning.tasks import export_merged_model

        export_merged_model.delay(job.pk)
    return bool(changed)


def merged_export_run(*, job_id: int) -> None:
    """Merge on a worker; a merge whose worker died ``MODELFACTORY_TASK_MAX_ATTEMPTS`` times fails instead.

    Loading a base model can exhaust a worker's memory; without the cap its message would come back to
    every worker for ever (`modelfactory.worker_attempts`).
    """
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    job = FineTuneJob.objects.select_related("base_model").get(pk=job_id)
    if job.merged_status != "exporting":
        return
    if attempts_exhausted(attempt_begin(FineTuneJob.objects.filter(pk=job_id), field="merged_attempts")):
        FineTuneJob.objects.filter(pk=job_id, merged_status="exporting").update(
            merged_status="failed", merged_error=worker_died_reason("merging this model")
        )
        return
    try:
        base = AutoModelForCausalLM.from_pretrained(job.base_model.source)
        merged = PeftModel.from_pretrained(base, str(adapter_directory(job))).merge_and_unload()
        with staged_directory(merged_directory(job)) as staging:
            merged.save_pretrained(staging)
            AutoTokenizer.from_pretrained(job.base_model.source).save_pretrained(staging)
    except Exception as error:  # SoftTimeLimitExceeded included: the page says why, the user may retry
        logger.exception("merging job %s failed", job_id)
        FineTuneJob.objects.filter(pk=job_id).update(
            merged_status="failed", merged_error=f"{type(error).__name__}: {error}"
        )
        return
    FineTuneJob.objects.filter(pk=job_id).update(merged_status="ready")
