"""Writes for uploads: receiving a file, previewing it, importing it all or nothing.

The file is stored under `VAR_DIR/uploads/<id>/` (shared storage in production, so a worker on
another host reads the same file). An import runs in ONE transaction: a datanet never holds half
an upload, whichever way it ends (rejections in all-or-nothing mode, a crash, a killed worker).
Progress goes to a small JSON file beside the upload rather than the database, because the
import's own transaction would hide database writes from the page polling for them.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from datanets.errors import DatanetAccessDenied, UploadRefused
from datanets.ingest import (
    ColumnMapping,
    DecodeLimits,
    RowRejection,
    UploadPreview,
    UploadUnreadable,
    inspect_upload,
    iter_validated,
)
from datanets.models import Datanet, Row, Upload
from datanets.row_formats import row_format_of, row_text
from datanets.selectors import approved_on_arrival, may_use
from datanets.services import datanet_require_open
from datanets.token_counting import counter_for_base_model
from modelfactory.accounts.models import User
from modelfactory.worker_attempts import attempt_begin, attempts_exhausted, worker_died_reason
from primitives.atomic_files import replace_file_atomically

BATCH = 1000

logger = logging.getLogger(__name__)


def upload_directory(upload: Upload) -> Path:
    return Path(upload.stored_path).parent


def _progress_path(upload: Upload) -> Path:
    return upload_directory(upload) / "progress.json"


def upload_receive(*, datanet: Datanet, uploader: User, file: UploadedFile) -> Upload:
    """Store an uploaded file after the size and quota checks; nothing is parsed yet."""
    if not may_use(uploader, datanet):
        raise DatanetAccessDenied(f"{datanet.title} is permissioned: ask its owner for access")
    datanet_require_open(datanet)
    limit = settings.MODELFACTORY_UPLOAD_MAX_BYTES
    if file.size > limit:
        raise UploadRefused(
            f"{file.name} is {file.size / 2**20:.1f} MB; files up to {limit / 2**20:.0f} MB are accepted. "
            "Split it into smaller files."
        )
    directory = Path(settings.VAR_DIR) / "uploads" / uuid.uuid4().hex
    name = Path(file.name).name or "upload"
    target = directory / name
    with transaction.atomic():
        # The uploader's row is locked while the quota is counted and this upload's bytes are reserved
        # (its row), so two uploads sent at once cannot both fit in what only one of them fits in.
        User.objects.select_for_update().filter(pk=uploader.pk).first()
        since = timezone.now() - timedelta(days=1)
        used = (
            Upload.objects.filter(uploader=uploader, created__gte=since).aggregate(n=Sum("size_bytes"))["n"]
            or 0
        )
        quota = settings.MODELFACTORY_UPLOAD_DAILY_QUOTA_BYTES
        if used + file.size > quota:
            raise UploadRefused(
                f"this upload would take you past your daily quota of {quota / 2**20:.0f} MB "
                f"({used / 2**20:.1f} MB used in the last 24 hours); try again tomorrow"
            )
        upload = Upload.objects.create(
            datanet=datanet, uploader=uploader, filename=name, stored_path=str(target), size_bytes=file.size
        )
    try:
        directory.mkdir(parents=True)
        with target.open("wb") as out:
            for chunk in file.chunks():
                out.write(chunk)
    except BaseException:
        upload.delete()  # the reservation goes with the file that could not be stored
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return upload


def _drop_stored_file(upload: Upload) -> None:
    """An upload's file is needed only until it is imported, failed or discarded; its rejections report
    (beside it) stays for the uploader to download."""
    Path(upload.stored_path).unlink(missing_ok=True)


def _decode_limits() -> DecodeLimits:
    return DecodeLimits(
        max_decoded_bytes=settings.MODELFACTORY_UPLOAD_MAX_DECODED_BYTES,
        max_rows=settings.MODELFACTORY_UPLOAD_MAX_ROWS,
    )


def _existing_hashes(datanet: Datanet) -> set[str]:
    return set(datanet.rows.values_list("content_hash", flat=True))


def upload_preview(*, upload: Upload, mapping: ColumnMapping | None = None) -> UploadPreview:
    """Detect the format (or apply the user's mapping) and normalize the first rows, writing no rows.

    A file that cannot be read at all marks the upload failed with the reason, then raises
    `UploadUnreadable`: there is nothing to choose in the wizard, only the reason to show."""
    counter = counter_for_base_model(settings.MODELFACTORY_BASE_MODEL)
    try:
        preview = inspect_upload(
            upload.stored_path,
            filename=upload.filename,
            mapping=mapping,
            existing_hashes=_existing_hashes(upload.datanet),
            count_tokens=counter.count,
            max_tokens=settings.MODELFACTORY_ROW_MAX_TOKENS,
            max_bytes=settings.MODELFACTORY_UPLOAD_MAX_BYTES,
            expected_format=upload.datanet.expected_format,
            limits=_decode_limits(),
        )
    except UploadUnreadable as error:
        upload.status, upload.error = Upload.Status.FAILED, str(error)
        upload.save(update_fields=["status", "error"])
        raise
    if preview.detected_format and not upload.detected_format:
        upload.detected_format = str(preview.detected_format)
        upload.save(update_fields=["detected_format"])
    return preview


def upload_start_import(*, upload: Upload, user: User, mode: str, mapping: ColumnMapping) -> Upload:
    """Record the user's choices and import now (small files) or on a worker (large ones)."""
    if upload.uploader_id != user.pk:
        raise DatanetAccessDenied("only the person who uploaded a file can import it")
    if upload.status != Upload.Status.INSPECTED:
        return upload  # a second click, or a reload of the confirmation: the first one counts
    if mode not in Upload.Mode.values:
        raise UploadRefused(f"unknown import mode {mode!r}")
    datanet_require_open(upload.datanet)
    upload.mode, upload.mapping = mode, mapping.columns
    upload.status, upload.progress = Upload.Status.IMPORTING, 0.0
    upload.save(update_fields=["mode", "mapping", "status", "progress"])
    if upload.size_bytes <= settings.MODELFACTORY_UPLOAD_INLINE_BYTES:
        upload_run_import(upload_id=upload.pk)
    else:
        from datanets.tasks import import_upload

        transaction.on_commit(lambda: import_upload.delay(upload.pk))
    upload.refresh_from_db()
    return upload


def upload_import_inline(*, upload: Upload, user: User, mapping: ColumnMapping) -> Upload:
    """Import all or nothing now, in this process, whatever the file's size, and return the outcome.

    For a caller that answers with the outcome itself (the API's POST /v1/files), where no page polls a
    worker's progress. The same checks and import as `upload_start_import`.
    """
    if upload.uploader_id != user.pk:
        raise DatanetAccessDenied("only the person who uploaded a file can import it")
    if upload.status != Upload.Status.INSPECTED:
        return upload
    datanet_require_open(upload.datanet)
    upload.mode, upload.mapping = Upload.Mode.ALL_OR_NOTHING, mapping.columns
    upload.status, upload.progress = Upload.Status.IMPORTING, 0.0
    upload.save(update_fields=["mode", "mapping", "status", "progress"])
    upload_run_import(upload_id=upload.pk)
    upload.refresh_from_db()
    return upload


class _RollBack(Exception):
    """Raised inside the import transaction to undo it when the user chose all-or-nothing."""


class _TookTooLong(Exception):
    """Raised inside the import transaction when it passed ``MODELFACTORY_IMPORT_TIME_LIMIT_S``.

    Checked by the import itself, between batches, so the bound holds whatever pool runs it (Celery's own
    time limits need a prefork pool).
    """


def upload_run_import(*, upload_id: int) -> None:
    """Import every valid row in one transaction; safe to run twice (the second run does nothing).

    Rows of the owner and of auto-approved contributors arrive approved, everyone else's pending;
    the upload remembers which, so its page can say "added" or "waiting for the owner's review".
    """
    upload = Upload.objects.select_related("datanet", "uploader").get(pk=upload_id)
    if upload.status != Upload.Status.IMPORTING:
        return
    datanet, uploader = upload.datanet, upload.uploader
    rejections_path = upload_directory(upload) / "rejections.jsonl"
    upload.attempts = attempt_begin(Upload.objects.filter(pk=upload.pk))  # `_finish` saves every field
    if attempts_exhausted(upload.attempts):
        error = worker_died_reason("importing this file")
        _finish(upload, Upload.Status.FAILED, 0, 0, rejections_path, error=error)
        return
    if datanet.archived is not None:  # archived after the user chose to import, before a worker ran it
        error = f"{datanet.title} was archived before the import ran, and takes no new rows"
        _finish(upload, Upload.Status.FAILED, 0, 0, rejections_path, error=error)
        return
    upload.approved_on_arrival = approved_on_arrival(uploader, datanet)
    status = Row.Status.APPROVED if upload.approved_on_arrival else Row.Status.PENDING
    counter = counter_for_base_model(settings.MODELFACTORY_BASE_MODEL)
    reporter = _ProgressFile(_progress_path(upload))
    accepted = rejected = 0
    limit_s = settings.MODELFACTORY_IMPORT_TIME_LIMIT_S
    deadline = time.monotonic() + limit_s
    try:
        with transaction.atomic(), rejections_path.open("w", encoding="utf-8") as rejections:
            batch: list[Row] = []
            for verdict in iter_validated(
                upload.stored_path,
                filename=upload.filename,
                mapping=ColumnMapping(**upload.mapping),
                existing_hashes=_existing_hashes(datanet),
                count_tokens=counter.count,
                max_tokens=settings.MODELFACTORY_ROW_MAX_TOKENS,
                on_progress=reporter.report,
                max_bytes=settings.MODELFACTORY_UPLOAD_MAX_BYTES,
                expected_format=datanet.expected_format,
                limits=_decode_limits(),
            ):
                if isinstance(verdict, RowRejection):
                    rejected += 1
                    rejections.write(
                        json.dumps(
                            {"line": verdict.line, "reason": verdict.reason, "raw": verdict.raw},
                            ensure_ascii=False,
                        )
                        + "\n"
                    )
                    continue
                accepted += 1
                batch.append(
                    _row_from(verdict, datanet=datanet, uploader=uploader, status=status, upload=upload)
                )
                if len(batch) >= BATCH:
                    Row.objects.bulk_create(batch)
                    batch.clear()
                    if time.monotonic() > deadline:
                        raise _TookTooLong
            if batch:
                Row.objects.bulk_create(batch)
            if rejected and upload.mode == Upload.Mode.ALL_OR_NOTHING:
                raise _RollBack
    except _RollBack:
        _finish(upload, Upload.Status.DISCARDED, accepted, rejected, rejections_path)
    except _TookTooLong:
        error = f"the import took longer than the {limit_s} s allowed and was stopped; split the file"
        _finish(upload, Upload.Status.FAILED, 0, 0, rejections_path, error=error)
    except UploadUnreadable as error:
        _finish(upload, Upload.Status.FAILED, 0, rejected, rejections_path, error=str(error))
    except Exception as error:  # the transaction rolled back: say so, never leave it "importing"
        logger.exception("import of upload %s failed", upload.pk)
        _finish(
            upload,
            Upload.Status.FAILED,
            0,
            0,
            rejections_path,
            error=f"the import stopped unexpectedly ({type(error).__name__}: {error}); nothing was imported",
        )
    else:
        _finish(upload, Upload.Status.IMPORTED, accepted, rejected, rejections_path)


def _row_from(verdict, *, datanet: Datanet, uploader: User, status: str, upload: Upload) -> Row:
    return Row(
        datanet=datanet,
        format=row_format_of(verdict.content),
        content=verdict.content,
        content_hash=verdict.content_hash,
        search_text=row_text(verdict.content),
        contributor=uploader,
        wallet_address=uploader.wallet_address,
        status=status,
        token_count=verdict.token_count,
        source="upload",
        upload=upload,
    )


def _finish(
    upload: Upload, status: str, accepted: int, rejected: int, rejections_path: Path, error: str = ""
) -> None:
    upload.status = status
    upload.accepted_count = accepted if status == Upload.Status.IMPORTED else 0
    upload.rejected_count = rejected
    upload.rejections_path = str(rejections_path) if rejected else ""
    upload.error = error
    upload.progress = 1.0
    upload.finished = timezone.now()
    upload.save()
    _progress_path(upload).unlink(missing_ok=True)
    _drop_stored_file(upload)


def upload_discard(*, upload: Upload, user: User) -> None:
    if upload.uploader_id != user.pk:
        raise DatanetAccessDenied("only the person who uploaded a file can discard it")
    if upload.status == Upload.Status.INSPECTED:
        upload.status, upload.finished = Upload.Status.DISCARDED, timezone.now()
        upload.save(update_fields=["status", "finished"])
        _drop_stored_file(upload)


def upload_progress(upload: Upload) -> float:
    """How far an import has read its file, 0..1 (the progress file is written by the importer)."""
    if upload.status != Upload.Status.IMPORTING:
        return upload.progress
    try:
        return float(json.loads(_progress_path(upload).read_text())["fraction"])
    except (OSError, ValueError, KeyError):
        return 0.0


class _ProgressFile:
    """Writes the fraction read at most a few times a second, atomically (write, then rename)."""

    def __init__(self, path: Path) -> None:
        self.path, self._last = path, 0.0

    def report(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last < 0.25 and done < total:
            return
        self._last = now
        replace_file_atomically(self.path, json.dumps({"fraction": done / total if total else 1.0}))
