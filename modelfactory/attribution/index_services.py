"""Building the indexes attribution reads: gradient sketches per adapter, span indexes per datanet version.

Both are built once, off the request path, when an adapter is published (the sketch of its training
rows, and a span index for each datanet version it was trained on). A build is idempotent and
claimable: `pending` → `building` → `ready` | `failed`; a build whose worker died stays `building`
until the sweep sees it stale and queues it again.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from datanets.models import Row
from modelfactory.attribution.index_paths import sketch_directory, span_index_directory
from modelfactory.attribution.models import AdapterSketch, BuildStatus, SpanIndex
from modelfactory.attribution.row_text import answer_text
from modelfactory.catalog.models import PublishedModel

logger = logging.getLogger(__name__)


def _stale_before() -> timezone.datetime:
    return timezone.now() - timedelta(seconds=settings.MODELFACTORY_ATTRIBUTION_STALE_AFTER_S)


def _claim(model, pk: int) -> bool:
    """Take a build for this worker: queued or failed builds, or one whose worker went silent."""
    claimable = Q(status__in=[BuildStatus.PENDING, BuildStatus.FAILED]) | Q(
        status=BuildStatus.BUILDING, started__lt=_stale_before()
    )
    return bool(
        model.objects.filter(claimable, pk=pk).update(
            status=BuildStatus.BUILDING, error="", started=timezone.now(), finished=None
        )
    )


# --- Span indexes ----------------------------------------------------------------------------------
def span_index_build(*, version_id: int) -> SpanIndex | None:
    """Index the answers of a version's rows for verbatim span matching; None if another worker has it."""
    from inference.attribution.span_index import SpanIndex as WordSpanIndex

    index, _ = SpanIndex.objects.get_or_create(version_id=version_id)
    if index.status == BuildStatus.READY or not _claim(SpanIndex, index.pk):
        return None
    started = time.perf_counter()
    try:
        rows = Row.objects.filter(versions__pk=version_id).order_by("pk").values_list("pk", "content")
        built = WordSpanIndex.build((pk, answer_text(content)) for pk, content in rows.iterator())
        directory = span_index_directory(version_id=version_id)
        built.save(directory)
    except Exception as error:
        logger.exception("span index of version %s failed", version_id)
        SpanIndex.objects.filter(pk=index.pk).update(
            status=BuildStatus.FAILED, error=f"{type(error).__name__}: {error}", finished=timezone.now()
        )
        return None
    SpanIndex.objects.filter(pk=index.pk).update(
        status=BuildStatus.READY,
        path=str(directory),
        row_count=built.row_count,
        token_count=built.token_count,
        bytes_total=built.nbytes,
        build_seconds=time.perf_counter() - started,
        finished=timezone.now(),
    )
    return SpanIndex.objects.get(pk=index.pk)


# --- Gradient sketches -------------------------------------------------------------------------------
def training_examples(job, tokenizer) -> list[tuple[int, list[int], list[int]]]:
    """The job's training rows, in training order, tokenized exactly as its trainer did."""
    from modelfactory.finetuning.training.data import trained_examples

    row_ids = job.manifest.get("training_row_ids", [])
    contents = dict(Row.objects.filter(pk__in=row_ids).values_list("pk", "content"))
    # A row deleted since training has nobody left to pay: nothing to sketch.
    rows = [{"row_id": pk, **contents[pk]} for pk in row_ids if pk in contents]
    return trained_examples(rows, tokenizer, max_seq_length=int(job.spec.get("max_seq_length", 1024)))


def sketch_build(*, sketch_id: int) -> AdapterSketch | None:
    """Sketch every training row's LoRA gradient for one adapter version; None if not claimable."""
    from inference.attribution.gradient_sketch import SketchConfig
    from inference.attribution.influence import build_sketches
    from modelfactory.attribution import model_cache

    if not _claim(AdapterSketch, sketch_id):
        return None
    sketch = AdapterSketch.objects.select_related("job", "published_model__base_model").get(pk=sketch_id)
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        AdapterSketch.objects.filter(pk=sketch_id).update(progress=done / max(total, 1))

    try:
        config = SketchConfig(
            side_dim=settings.MODELFACTORY_ATTRIBUTION_SIDE_DIM,
            sketch_dim=settings.MODELFACTORY_ATTRIBUTION_SKETCH_DIM,
        )
        with model_cache.model_lock():
            model, tokenizer = model_cache.adapter_model(
                sketch.published_model.base_model.source, sketch.adapter_key, sketch_adapter_path(sketch)
            )
            examples = training_examples(sketch.job, tokenizer)
            built = build_sketches(model, examples, config=config, on_progress=progress, total=len(examples))
        directory = sketch_directory(published_id=sketch.published_model_id, version=sketch.model_version)
        built.save(directory)
    except Exception as error:
        logger.exception("gradient sketch of %s failed", sketch.adapter_key)
        AdapterSketch.objects.filter(pk=sketch_id).update(
            status=BuildStatus.FAILED, error=f"{type(error).__name__}: {error}", finished=timezone.now()
        )
        return None
    AdapterSketch.objects.filter(pk=sketch_id).update(
        status=BuildStatus.READY,
        path=str(directory),
        progress=1.0,
        row_count=len(built.row_ids),
        sketch_dim=built.config.sketch_dim,
        bytes_total=built.nbytes,
        build_seconds=time.perf_counter() - started,
        finished=timezone.now(),
    )
    return AdapterSketch.objects.get(pk=sketch_id)


def sketch_adapter_path(sketch: AdapterSketch) -> str:
    """The adapter files of the sketched version: its own job's, whatever was published since."""
    from modelfactory.finetuning.export_services import adapter_directory

    return str(adapter_directory(sketch.job))


# --- Queueing ------------------------------------------------------------------------------------
def indexes_request_for(*, published: PublishedModel) -> None:
    """After publishing: queue the adapter's sketch and a span index for each version it trained on.

    Only indexes this call creates are queued; queued-but-lost and stale builds are the sweep's.
    """
    from modelfactory.attribution.tasks import build_adapter_sketch, build_span_index

    if published.kind != PublishedModel.Kind.ADAPTER or not published.job_id:
        return
    if published.job.manifest.get("training_row_ids"):
        sketch, created = AdapterSketch.objects.get_or_create(
            published_model=published, model_version=published.version, defaults={"job": published.job}
        )
        if created:
            transaction.on_commit(lambda: build_adapter_sketch.delay(sketch.pk))
    for version in published.job.datanet_versions.all():
        _, created = SpanIndex.objects.get_or_create(version=version)
        if created:
            transaction.on_commit(lambda pk=version.pk: build_span_index.delay(pk))
