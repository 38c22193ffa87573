"""Reading a receipt's evidence for people: the rows and spans behind an answer, and how it was attributed.

A receipt is a public record, shareable by link, but the evidence inside it is row text: row and span
text is shown only for datanets the viewer may read, on the pages (`receipt_evidence`) and through the
API (`attribution_visible_to`) alike, so asking a question is never a way to read a permissioned
datanet's rows. Everything here reads the receipt alone (`ReceiptAttribution`), whatever app wrote it.
"""

from __future__ import annotations

from dataclasses import replace

from datanets.models import Row
from modelfactory.ledger.models import InferenceReceipt
from modelfactory.ledger.span_evidence import SpanEvidence

EXCERPT_CHARS = 160
METHOD_LABELS = {"lineage": "Lineage", "gradient": "Gradient influence", "span": "Span matching"}


def span_detail(words: int, rows: int | None, indexed_rows: int | None, *, counted: bool = True) -> str:
    """Why a span counted, or why it did not: "9 words, found in 1 of 240 rows".

    Evidence stored before the rarity rule has no row counts; it says only its length, as it did then.
    """
    if rows is None or indexed_rows is None:
        return f"{words} words"
    if not counted:
        return f"{words} words, too common to credit (in {rows} of {indexed_rows} rows)"
    return f"{words} words, found in {rows} of {indexed_rows} rows"


def _readable_datanet_ids(datanet_ids: set[int], viewer) -> set[int]:
    """Those of `datanet_ids` whose rows `viewer` may read: row and span text is shown for these only."""
    from datanets.selectors import datanets_usable_by

    return set(datanets_usable_by(viewer).filter(pk__in=datanet_ids).values_list("pk", flat=True))


def _readable_datanet_slugs(slugs: set[str], viewer) -> set[str]:
    """The same by slug, as spans name their datanet."""
    from datanets.selectors import datanets_usable_by

    if not slugs:
        return set()
    return set(datanets_usable_by(viewer).filter(slug__in=slugs).values_list("slug", flat=True))


def evidence_rows(receipt: InferenceReceipt, viewer=None) -> list[dict]:
    """The receipt's top rows, each with its datanet title and a short excerpt of the row's text.

    A receipt is shareable by link, so row text (and a matched span, which is row text) is shown
    only for datanets the viewer may read; the others show their row ids and scores alone.
    """
    rows = receipt.attribution_record.rows
    found = Row.objects.select_related("datanet").in_bulk([row["row_id"] for row in rows])
    readable = _readable_datanet_ids({r.datanet_id for r in found.values()}, viewer)
    shown = []
    for row in rows:
        record = found.get(row["row_id"])
        may_read = record is not None and record.datanet_id in readable
        text = record.search_text if may_read else ""
        if not may_read:
            row = {**row, "span": ""}
        shown.append(
            {
                **row,
                "datanet_title": record.datanet.title if record else row.get("datanet"),
                "excerpt": text[:EXCERPT_CHARS] + ("…" if len(text) > EXCERPT_CHARS else ""),
                "weight_percent": round(100 * float(row.get("weight", 0)), 1),
                "method_label": METHOD_LABELS.get(row.get("method"), row.get("method")),
                "span_detail": (
                    span_detail(row.get("score", 0), row.get("span_rows"), row.get("indexed_rows"))
                    if row.get("method") == "span"
                    else ""
                ),
            }
        )
    return shown


def evidence_spans(receipt: InferenceReceipt, viewer=None) -> list[dict]:
    """Every verbatim span of the answer, credited or too common to credit, with "k of M rows".

    Span text is row text, so as for rows it is shown only for datanets the viewer may read (a span
    whose datanet is not recorded is not shown). Receipts attributed before spans were stored have none.
    """
    spans = [SpanEvidence.from_json(span) for span in receipt.attribution_record.spans or []]
    readable = _readable_datanet_slugs({span.datanet for span in spans if span.datanet}, viewer)
    return [
        {
            "text": span.text if span.datanet in readable else "",
            "datanet": span.datanet,
            "words": span.words,
            "rows": span.rows,
            "indexed_rows": span.indexed_rows,
            "counted": span.counted,
            "reason": span.reason,
            "detail": span_detail(span.words, span.rows, span.indexed_rows, counted=span.counted),
        }
        for span in spans
    ]


def attribution_visible_to(receipt: InferenceReceipt, viewer=None) -> dict:
    """The receipt's attribution record, with row and span text kept only for datanets `viewer` may read.

    What the API returns: the same rule as the receipt pages (`evidence_rows`, `evidence_spans`), so
    asking a question is never a way to read a permissioned datanet's rows.
    """
    attribution = receipt.attribution_record
    rows = attribution.rows
    row_datanets = dict(
        Row.objects.filter(pk__in=[row["row_id"] for row in rows]).values_list("pk", "datanet_id")
    )
    readable_ids = _readable_datanet_ids(set(row_datanets.values()), viewer)
    spans = attribution.spans or []
    readable_slugs = _readable_datanet_slugs({s.get("datanet") for s in spans if s.get("datanet")}, viewer)
    shown = replace(
        attribution,
        rows=[
            row if row_datanets.get(row["row_id"]) in readable_ids else {**row, "span": ""} for row in rows
        ],
        spans=[span if span.get("datanet") in readable_slugs else {**span, "text": ""} for span in spans],
    )
    return shown.to_json()


def receipt_evidence(receipt: InferenceReceipt, viewer=None) -> dict:
    """Everything the receipt page and the playground panel say about how an answer was attributed."""
    attribution = receipt.attribution_record
    weights = attribution.method_weights or {"lineage": 1.0}
    return {
        "status": receipt.attribution_status,
        "status_label": receipt.get_attribution_status_display(),
        "pending": receipt.attribution_status == InferenceReceipt.AttributionStatus.PENDING,
        "methods": [METHOD_LABELS.get(name, name) for name in attribution.methods or ["lineage"]],
        "method_weights": [
            {"name": METHOD_LABELS.get(name, name), "percent": round(100 * float(value), 1)}
            for name, value in weights.items()
        ],
        "combination": attribution.combination,
        "rows": evidence_rows(receipt, viewer),
        "spans": evidence_spans(receipt, viewer),
        "notes": attribution.notes or [],
        "error": attribution.error or "",
        "settled_on": attribution.settled_on or "",
        "seconds": attribution.seconds,
    }
