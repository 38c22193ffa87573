"""What a finished job hands over: the adapter as a zip, and a merged full model on request.

The zip holds the standard PEFT files plus the manifest, so PEFT, vLLM and LoRAX load it as is and
the provenance travels with it. Merging writes a plain Hugging Face model (base weights + LoRA
folded in) for tools that know nothing of adapters; it runs on a worker because it loads the base.
"""

from __future__ import annotations

import io
import logging
import shutil
import zipfile
from pathlib import Path

from modelfactory.finetuning.models import FineTuneJob

logger = logging.getLogger(__name__)


def adapter_directory(job: FineTuneJob) -> Path:
    return Path(job.output_dir) / "adapter"


def merged_directory(job: FineTuneJob) -> Path:
    return Path(job.output_dir) / "merged"


def adapter_zip(job: FineTuneJob) -> bytes:
    """The adapter files and the manifest, zipped; adapters are megabytes, so memory is fine."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(adapter_directory(job).iterdir()):
            archive.write(path, arcname=path.name)
        manifest = Path(job.output_dir) / "manifest.json"
        if manifest.is_file():
            archive.write(manifest, arcname="manifest.json")
    return buffer.getvalue()


def merged_export_request(*, job: FineTuneJob) -> bool:
    """Queue the merge once; a second click while it runs, or after it is ready, does nothing."""
    changed = FineTuneJob.objects.filter(
        pk=job.pk, status=FineTuneJob.Status.SUCCEEDED, merged_status__in=["", "failed"]
    ).update(merged_status="exporting")
    if changed:
        from modelfactory.finetuning.tasks import export_merged_model

        export_merged_model.delay(job.pk)
    return bool(changed)


def merged_export_run(*, job_id: int) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    job = FineTuneJob.objects.select_related("base_model").get(pk=job_id)
    if job.merged_status != "exporting":
        return
    target, staging = merged_directory(job), merged_directory(job).with_name("merged.staging")
    try:
        shutil.rmtree(staging, ignore_errors=True)
        base = AutoModelForCausalLM.from_pretrained(job.base_model.source)
        merged = PeftModel.from_pretrained(base, str(adapter_directory(job))).merge_and_unload()
        merged.save_pretrained(staging)
        AutoTokenizer.from_pretrained(job.base_model.source).save_pretrained(staging)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    except Exception:
        logger.exception("merging job %s failed", job_id)
        FineTuneJob.objects.filter(pk=job_id).update(merged_status="failed")
        return
    FineTuneJob.objects.filter(pk=job_id).update(merged_status="ready")
