"""Attributing answers: queue a query with the receipt, run the methods off the request path, pay on it.

`answer_receipt_record` writes an answer's receipt (the ledger's, on lineage) and, with `query_record`,
its query inside the answer's transaction (the receipt and its query exist together or not
at all). `receipt_attribute` runs on an attribution worker: it claims the query, runs gradient
influence against the adapter's sketches and span matching against the datanet versions' indexes,
combines them with lineage (`combination.combine`), and rewrites the receipt's attribution and its
contributors' part of the fee split, unless the receipt was already settled (then the evidence is
kept and the receipt says it was paid on lineage). Settlement waits for pending attribution for at
most `MODELFACTORY_ATTRIBUTION_SETTLE_WAIT_S`, so a slow or dead worker delays payouts, never drops them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Unpack

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from datanets.models import Datanet, Row
from modelfactory.attribution.combination import (
    Attribution,
    GradientEvidence,
    RowOwner,
    SpanEvidence,
    combine,
)
from modelfactory.attribution.index_services import sketch_adapter_path
from modelfactory.attribution.models import (
    AdapterSketch,
    AttributionQuery,
    BuildStatus,
    DatanetCredit,
    IndexBuild,
    RowAttribution,
    SpanIndex,
)
from modelfactory.catalog.models import PublishedModel
from modelfactory.ledger.models import InferenceReceipt
from modelfactory.ledger.payees import person_key
from modelfactory.ledger.receipt_attribution import LineageWeights, ReceiptAttribution
from modelfactory.ledger.receipt_services import AnswerUsage, receipt_draft
from modelfactory.ledger.receipt_split import receipt_split

logger = logging.getLogger(__name__)

GRADIENT_CANDIDATES = 32


# --- On the request path ----------------------------------------------------------------------------
def needs_attribution(receipt: InferenceReceipt) -> bool:
    """Only answers of adapters trained on community rows have rows to find."""
    return bool(receipt.adapters) and bool(receipt.attribution_record.contributors)


def answer_of(completion) -> dict:
    """What a query keeps of one of the engine's completions: its text and the tokens the model chose."""
    return {"text": completion.text, "token_ids": list(completion.token_ids)}


@transaction.atomic
def answer_receipt_record(
    *, prompt: str | None, answers: list[dict] | None, **usage: Unpack[AnswerUsage]
) -> InferenceReceipt:
    """Record one answer (`ledger.receipt_services.receipt_draft`) and queue it for attribution beyond lineage
    when it has rows to find, in the caller's transaction: the receipt and its query exist together
    or not at all.

    `prompt` (as the model saw it) and `answers` (`[{"text", "token_ids"}]`, one per choice) are what the
    attribution job reads; without them the receipt stays on lineage. A queued receipt is written
    `pending` in its one write on the request path.
    """
    receipt = receipt_draft(**usage)
    queued = prompt is not None and bool(answers) and needs_attribution(receipt)
    if queued:
        receipt.attribution_status = InferenceReceipt.AttributionStatus.PENDING
    receipt.save()
    if queued:
        query_record(receipt=receipt, prompt=prompt, answers=answers)
    return receipt


def query_record(*, receipt: InferenceReceipt, prompt: str, answers: list[dict]) -> AttributionQuery:
    """Keep what the attribution job needs and queue it once the answer's transaction commits.

    The caller writes the receipt already `pending` (one write on the request path, not two) when
    `needs_attribution` says so, as `answer_receipt_record` does.
    """
    from modelfactory.attribution.tasks import attribute_receipt

    query = AttributionQuery.objects.create(receipt=receipt, prompt=prompt, answers=answers)
    transaction.on_commit(lambda: attribute_receipt.delay(receipt.pk))
    return query


# --- On the attribution worker ----------------------------------------------------------------------
class IndexesNotReady(Exception):
    """An index this answer needs is still being built; try again shortly."""


def _claim(receipt_id: int) -> AttributionQuery | None:
    stale = timezone.now() - timedelta(seconds=settings.MODELFACTORY_ATTRIBUTION_STALE_AFTER_S)
    claimable = Q(status=AttributionQuery.Status.PENDING) | Q(
        status=AttributionQuery.Status.RUNNING, started__lt=stale
    )
    claimed = AttributionQuery.objects.filter(claimable, receipt_id=receipt_id).update(
        status=AttributionQuery.Status.RUNNING, started=timezone.now(), attempts=F("attempts") + 1
    )
    return AttributionQuery.objects.select_related("receipt").get(receipt_id=receipt_id) if claimed else None


def _release(query: AttributionQuery) -> None:
    """Give the query back without spending an attempt: waiting for an index is not a failure."""
    AttributionQuery.objects.filter(pk=query.pk).update(
        status=AttributionQuery.Status.PENDING, started=None, attempts=F("attempts") - 1
    )


def answer_words(text: str) -> int:
    """Words as the span index counts them, so coverage is words-matched over words-said."""
    from inference.attribution.span_index import tokenize

    return len(tokenize(text))


# Index files never change once a build finished; a rebuild finishes again, which changes the key.
@lru_cache(maxsize=16)
def _sketches(path: str, finished: float):
    from inference.attribution.influence import GradientSketches

    return GradientSketches.load(Path(path))


@lru_cache(maxsize=16)
def _span_index(path: str, finished: float):
    from inference.attribution.span_index import SpanIndex as WordSpanIndex

    return WordSpanIndex.load(Path(path))


def _served_adapters(receipt: InferenceReceipt) -> list[tuple[PublishedModel, int, float]]:
    """The adapters the receipt says answered, at the version served then (whose sketch is the one to
    read), with their merge weights; adapters since deleted are left out."""
    names = [adapter["name"] for adapter in receipt.adapters]
    by_name = PublishedModel.objects.select_related("base_model").in_bulk(names, field_name="api_name")
    return [
        (by_name[a["name"]], int(a["version"]), float(a.get("weight", 1.0)))
        for a in receipt.adapters
        if a["name"] in by_name
    ]


def _usable(index: IndexBuild | None, label: str, notes: list[str], *, wait_allowed: bool) -> bool:
    """Ready indexes are used; one being built makes the answer wait (while it may); others are noted."""
    if index is None:
        notes.append(f"{label}: none (nothing was recorded to build it from)")
        return False
    if index.status in (BuildStatus.PENDING, BuildStatus.BUILDING) and wait_allowed:
        raise IndexesNotReady(f"{label} is {index.status}")
    if index.status != BuildStatus.READY:
        notes.append(f"{label} {index.get_status_display().lower()}")
        return False
    return True


def _gradient_evidence(
    query: AttributionQuery, notes: list[str], *, wait_allowed: bool
) -> tuple[list[GradientEvidence], bool]:
    from modelfactory.attribution import model_cache

    evidence, ran = [], False
    for published, version, weight in _served_adapters(query.receipt):
        sketch = (
            AdapterSketch.objects.select_related("job", "published_model")
            .filter(published_model=published, model_version=version)
            .first()
        )
        label = f"{published.api_name} v{version}: gradient sketch"
        if not _usable(sketch, label, notes, wait_allowed=wait_allowed):
            continue
        sketches = _sketches(sketch.path, sketch.finished.timestamp())
        with model_cache.model_lock():
            model, tokenizer = model_cache.adapter_model(
                published.base_model.source, sketch.adapter_key, sketch_adapter_path(sketch)
            )
            prompt_ids = list(tokenizer(query.prompt)["input_ids"])  # as the engine tokenizes prompts
            inputs, labels = [], []
            for answer in query.answers:
                answer_ids = list(answer.get("token_ids") or [])
                if not answer_ids:
                    continue
                inputs.append(prompt_ids + answer_ids)
                labels.append([-100] * len(prompt_ids) + answer_ids)
            if not inputs:
                notes.append("the answer is empty: nothing to attribute by gradient")
                continue
            # The sketches' own projector: same seeds, same per-module weights, and a check that the
            # adapter loaded is the one they were computed from.
            with sketches.projector(model) as projector:
                vectors = projector.project(inputs, labels)
        ran = True
        evidence.append(
            GradientEvidence(
                adapter=published.api_name,
                adapter_weight=weight,
                rows=sketches.top_rows(vectors.mean(dim=0), k=GRADIENT_CANDIDATES),
            )
        )
    return evidence, ran


def _span_evidence(
    query: AttributionQuery, notes: list[str], *, wait_allowed: bool
) -> tuple[list[SpanEvidence], bool]:
    evidence, ran = [], False
    for ref in query.receipt.datanet_versions:
        index = SpanIndex.objects.filter(
            version__datanet__slug=ref["datanet"], version__number=ref["version"]
        ).first()
        if not _usable(
            index, f"{ref['datanet']} v{ref['version']}: span index", notes, wait_allowed=wait_allowed
        ):
            continue
        words = _span_index(index.path, index.finished.timestamp())
        ran = True
        for answer in query.answers:
            for match in words.longest_spans(
                answer.get("text", ""),
                min_words=settings.MODELFACTORY_ATTRIBUTION_MIN_SPAN_WORDS,
                max_row_share=settings.MODELFACTORY_ATTRIBUTION_MAX_SPAN_ROW_SHARE,
                min_rare_words=settings.MODELFACTORY_ATTRIBUTION_MIN_RARE_SPAN_WORDS or None,
            ):
                evidence.append(
                    SpanEvidence(
                        text=match.text,
                        words=match.words,
                        row_ids=match.row_ids,
                        occurrences=match.occurrences,
                        rows=match.rows,
                        indexed_rows=words.row_count,
                        counted=match.counted,
                        reason=match.reason,
                        datanet=ref["datanet"],
                    )
                )
    return evidence, ran


def receipt_attribute(*, receipt_id: int) -> InferenceReceipt | None:
    """Run the methods for one receipt; idempotent (a complete or claimed query is left alone).

    Raises `IndexesNotReady` (query released) while an index it needs is being built and the answer
    is younger than `MODELFACTORY_ATTRIBUTION_INDEX_WAIT_S`; the task retries it.
    """
    query = _claim(receipt_id)
    if query is None:
        return None
    started = time.perf_counter()
    receipt = query.receipt
    age = (timezone.now() - receipt.created).total_seconds()
    wait_allowed = age < settings.MODELFACTORY_ATTRIBUTION_INDEX_WAIT_S
    notes: list[str] = []
    try:
        gradient, gradient_ran = _gradient_evidence(query, notes, wait_allowed=wait_allowed)
        spans, span_ran = _span_evidence(query, notes, wait_allowed=wait_allowed)
    except IndexesNotReady:
        _release(query)
        raise
    except Exception as error:
        logger.exception("attribution of receipt %s failed (attempt %s)", receipt.receipt_id, query.attempts)
        reason = f"{type(error).__name__}: {error}"
        if query.attempts >= settings.MODELFACTORY_ATTRIBUTION_MAX_ATTEMPTS:
            query_fail(query=query, error=reason)
        else:  # perhaps transient: the sweep queues it again; the last attempt fails it visibly
            AttributionQuery.objects.filter(pk=query.pk).update(
                status=AttributionQuery.Status.PENDING, started=None, error=reason[:2000]
            )
        return None
    row_ids = {row for e in gradient for row, _ in e.rows} | {
        row for s in spans if s.counted for row in s.row_ids
    }
    # Rows contributed with no wallet are credited to their person (as lineage does), never to "".
    owners = {
        pk: RowOwner(wallet=wallet or person_key(contributor_id), datanet=slug)
        for pk, wallet, contributor_id, slug in Row.objects.filter(pk__in=row_ids).values_list(
            "pk", "wallet_address", "contributor_id", "datanet__slug"
        )
    }
    lineage = receipt.attribution_record.lineage_weights
    result = combine(
        lineage_contributors=lineage.contributors,
        lineage_datanets=lineage.datanets,
        gradient=gradient,
        gradient_ran=gradient_ran,
        spans=spans,
        span_ran=span_ran,
        answer_words=sum(answer_words(a.get("text", "")) for a in query.answers),
        owners=owners,
        lineage_floor=settings.MODELFACTORY_ATTRIBUTION_LINEAGE_FLOOR,
    )
    seconds = time.perf_counter() - started
    return _record(query=query, result=result, lineage=lineage, notes=notes, seconds=seconds)


def _record(
    *, query: AttributionQuery, result: Attribution, lineage: LineageWeights, notes: list[str], seconds: float
) -> InferenceReceipt:
    with transaction.atomic():
        receipt = InferenceReceipt.objects.select_for_update().get(pk=query.receipt_id)
        attribution = ReceiptAttribution(
            methods=result.methods,
            method_weights=result.method_weights,
            combination=result.combination,
            contributors=result.contributors,
            datanets=result.datanets,
            rows=result.rows,
            by_method=result.by_method,
            spans=result.spans,
            lineage=lineage,
            notes=notes,
            seconds=round(seconds, 4),
        )
        fields = ["attribution", "attribution_status"]
        if receipt.epoch is None:
            receipt.split = receipt_split(
                published=receipt.published_model,
                fee=int(receipt.fee),
                contributors=result.contributors,
                people=lineage.people,
            )
            fields.append("split")
        else:  # the weights shown must be the ones paid; the evidence is kept beside them
            notes.append(f"settled in epoch {receipt.epoch} before attribution finished: paid on lineage")
            attribution = replace(
                attribution,
                settled_on="lineage",
                contributors=lineage.contributors,
                datanets=lineage.datanets,
                evidence_weights={"contributors": result.contributors, "datanets": result.datanets},
            )
        receipt.attribution = attribution.to_json()
        receipt.attribution_status = InferenceReceipt.AttributionStatus.COMPLETE
        receipt.save(update_fields=fields)
        _evidence_rows(receipt, attribution.rows, attribution.datanets)  # credits follow what was paid
        AttributionQuery.objects.filter(pk=query.pk).update(
            status=AttributionQuery.Status.COMPLETE, finished=timezone.now(), seconds=seconds, error=""
        )
    return receipt


def _evidence_rows(receipt: InferenceReceipt, rows: list[dict], paid_datanets: Mapping[str, float]) -> None:
    """Row evidence and datanet credits, rewritten whole (a re-run replaces, never duplicates)."""
    RowAttribution.objects.filter(receipt=receipt).delete()
    DatanetCredit.objects.filter(receipt=receipt).delete()
    datanets = Datanet.objects.in_bulk(
        [row["datanet"] for row in rows if row.get("datanet")] + list(paid_datanets),
        field_name="slug",
    )
    existing = set(Row.objects.filter(pk__in=[r["row_id"] for r in rows]).values_list("pk", flat=True))
    RowAttribution.objects.bulk_create(
        RowAttribution(
            receipt=receipt,
            row_id=row["row_id"],
            datanet=datanets[row["datanet"]],
            method=row["method"],
            score=float(row["score"]),
            weight=float(row["weight"]),
        )
        for row in rows
        if row["row_id"] in existing and row.get("datanet") in datanets
    )
    contributors_part = Decimal(receipt.split.get("roles", {}).get("contributors", 0))
    DatanetCredit.objects.bulk_create(
        DatanetCredit(
            receipt=receipt,
            datanet=datanets[slug],
            weight=weight,
            amount=(contributors_part * Decimal(str(weight))).to_integral_value(rounding="ROUND_FLOOR"),
        )
        for slug, weight in paid_datanets.items()
        if slug in datanets
    )


def query_fail(*, query: AttributionQuery, error: str) -> None:
    """Give up on one answer visibly: it keeps (and is paid on) its lineage, with the reason shown."""
    with transaction.atomic():
        AttributionQuery.objects.filter(pk=query.pk).update(
            status=AttributionQuery.Status.FAILED, error=error[:2000], finished=timezone.now()
        )
        receipt = InferenceReceipt.objects.select_for_update().get(pk=query.receipt_id)
        receipt.attribution = replace(receipt.attribution_record, error=error[:500]).to_json()
        receipt.attribution_status = InferenceReceipt.AttributionStatus.FAILED
        receipt.save(update_fields=["attribution", "attribution_status"])


# --- Sweeping (beat) -----------------------------------------------------------------------------------
def attribution_sweep() -> dict:
    """Re-queue what a dead worker left behind; give up visibly after too many attempts; index new adapters.

    Safe to run at any time: every task it queues claims its work before doing it.
    """
    from modelfactory.attribution.index_services import indexes_request_for
    from modelfactory.attribution.tasks import attribute_receipt, build_adapter_sketch, build_span_index

    now = timezone.now()
    stale = now - timedelta(seconds=settings.MODELFACTORY_ATTRIBUTION_STALE_AFTER_S)
    waiting = now - timedelta(seconds=settings.MODELFACTORY_ATTRIBUTION_REQUEUE_AFTER_S)
    max_attempts = settings.MODELFACTORY_ATTRIBUTION_MAX_ATTEMPTS
    # A pending query whose task was sent long ago lost its message (or sits in a long backlog: then
    # the duplicate is a cheap no-op, its claim fails); a running one whose worker went silent died.
    lost = AttributionQuery.objects.filter(
        Q(status=AttributionQuery.Status.PENDING, queued_at__lt=waiting)
        | Q(status=AttributionQuery.Status.RUNNING, started__lt=stale)
    )
    requeued, failed = [], []
    for query in lost.select_related("receipt"):
        if query.attempts >= max_attempts:
            query_fail(query=query, error=f"gave up after {query.attempts} attempts (worker lost or crashed)")
            failed.append(query.receipt_id)
        else:
            AttributionQuery.objects.filter(pk=query.pk).update(queued_at=now)
            attribute_receipt.delay(query.receipt_id)
            requeued.append(query.receipt_id)
    unindexed = PublishedModel.objects.filter(
        kind=PublishedModel.Kind.ADAPTER, is_live=True, job__isnull=False
    ).exclude(attribution_sketches__model_version=F("version"))
    for published in unindexed.select_related("job"):
        with transaction.atomic():
            indexes_request_for(published=published)
    builds = Q(status=BuildStatus.PENDING, created__lt=waiting) | Q(
        status=BuildStatus.BUILDING, started__lt=stale
    )
    for pk in AdapterSketch.objects.filter(builds).values_list("pk", flat=True):
        build_adapter_sketch.delay(pk)
    for pk in SpanIndex.objects.filter(builds).values_list("version_id", flat=True):
        build_span_index.delay(pk)
    return {"requeued": requeued, "failed": failed}
