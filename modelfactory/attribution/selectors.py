"""Reads of attribution: what a datanet's rows were credited with, and a model's gradient sketch.

An answer's own evidence is read from its receipt (`ledger.receipt_evidence`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate

from datanets.models import Datanet, Row
from modelfactory.attribution.models import (
    AdapterSketch,
    DatanetCredit,
    RowAttribution,
    SpanIndex,
)
from modelfactory.ledger.receipt_evidence import EXCERPT_CHARS


@dataclass
class DatanetAttribution:
    answers: int = 0
    rows_attributed: int = 0
    earned: int = 0
    by_method: dict[str, int] = field(default_factory=dict)
    top_rows: list[dict] = field(default_factory=list)
    daily: dict[str, list] = field(default_factory=lambda: {"labels": [], "values": []})
    indexes: list[dict] = field(default_factory=list)


def datanet_attribution(datanet: Datanet, *, top: int = 10) -> DatanetAttribution:
    """How often this datanet's rows were named by answers' attribution, and what it earned from them."""
    attributions = RowAttribution.objects.filter(datanet=datanet)
    credits = DatanetCredit.objects.filter(datanet=datanet, weight__gt=0)
    summary = DatanetAttribution(
        answers=credits.values("receipt").distinct().count(),
        rows_attributed=attributions.values("row").distinct().count(),
        earned=int(credits.aggregate(total=Sum("amount"))["total"] or 0),
        by_method=dict(attributions.values_list("method").annotate(n=Count("id")).order_by()),
    )
    counted = (
        attributions.values("row")
        .annotate(times=Count("receipt", distinct=True))
        .order_by("-times", "row")[:top]
    )
    texts = Row.objects.in_bulk([entry["row"] for entry in counted])
    summary.top_rows = [
        {
            "row_id": entry["row"],
            "times": entry["times"],
            "wallet": texts[entry["row"]].wallet_address if entry["row"] in texts else "",
            "excerpt": (texts[entry["row"]].search_text[:EXCERPT_CHARS] if entry["row"] in texts else ""),
        }
        for entry in counted
    ]
    daily = (
        credits.annotate(day=TruncDate("created")).values("day").annotate(total=Sum("amount")).order_by("day")
    )
    summary.daily = {
        "labels": [entry["day"].isoformat() for entry in daily],
        "values": [float(entry["total"]) / 1e18 for entry in daily],
    }
    summary.indexes = [
        {
            "version": index.version.number,
            "status": index.get_status_display(),
            "rows": index.row_count,
            "bytes_per_row": round(index.bytes_total / index.row_count) if index.row_count else 0,
        }
        for index in SpanIndex.objects.filter(version__datanet=datanet).select_related("version")
    ]
    return summary


def current_sketch(published_model) -> AdapterSketch | None:
    """The gradient sketch of the version being served, for the model's page (None: nothing to sketch)."""
    return AdapterSketch.objects.filter(
        published_model=published_model, model_version=published_model.version
    ).first()
