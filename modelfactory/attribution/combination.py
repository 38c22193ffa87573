"""How the evidence of each method becomes one answer's weights (Django-free, so benchmarks use it too).

Three methods can speak about an answer:

* **lineage** (always): the adapter was trained on these rows, so each contributor has a claim in
  proportion to their share of the training rows. It is true of every answer, so it is the floor.
* **gradient influence**: the rows whose LoRA-gradient sketches best align with the answer's gradient
  (`inference.attribution.influence`); the top `GRADIENT_TOP_K` rows with a positive score share the
  method's mass in proportion to score² (squaring keeps one strong row from being outvoted by a tail
  of weak ones, which the canary benchmark showed matters for top-1).
* **span matching**: verbatim spans of the answer found in training answers
  (`inference.attribution.span_index`); each span's length in words is shared by the rows that
  contain it. Only rare spans count: one found in more than max(3, 5%) of its datanet version's rows is
  boilerplate that names no row in particular, so it is kept on the receipt (with k of M rows, to say
  why) but earns nothing and covers nothing.

The mixture, documented on every receipt:

    floor      = LINEAGE_FLOOR (0.2) of the weight always follows lineage;
    coverage c = share of the answer's words inside counted (rare) spans (0..1);
    span       = (1 - floor) · c                 when a counted span was found;
    gradient   = (1 - floor) · (1 - c)           when the gradient method ran and found a positive row;
    what a method that could not run or found nothing would have had goes back to lineage.

Verbatim reuse is the strongest evidence there is, so it takes the part of the answer it covers;
gradients speak for the rest. Contributor and datanet weights always sum to 1 (or are empty when
nothing was trained on community data).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from modelfactory.ledger.span_evidence import SpanEvidence

LINEAGE_FLOOR = 0.2
GRADIENT_TOP_K = 10
TOP_ROWS_SHOWN = 20  # span rows first, then gradient rows


@dataclass(frozen=True)
class RowOwner:
    """Who a training row pays: its contributor's wallet (as contributed) and its datanet."""

    wallet: str
    datanet: str


@dataclass(frozen=True)
class GradientEvidence:
    """One adapter's top rows by influence, with the adapter's share of the model (merge weight)."""

    adapter: str
    adapter_weight: float
    rows: Sequence[tuple[int, float]]  # (row id, score), best first


@dataclass
class Attribution:
    contributors: dict[str, float]
    datanets: dict[str, float]
    rows: list[dict]
    methods: list[str]
    method_weights: dict[str, float]
    combination: str
    by_method: dict[str, dict[str, float]] = field(default_factory=dict)
    """Each method's own contributor weights before mixing (what the canary benchmark scores)."""
    spans: list[dict] = field(default_factory=list)
    """Every span found, counted or not (`SpanEvidence.to_json`), in answer order."""

    def to_json(self) -> dict:
        return {
            "methods": self.methods,
            "method_weights": self.method_weights,
            "combination": self.combination,
            "contributors": self.contributors,
            "datanets": self.datanets,
            "rows": self.rows,
            "by_method": self.by_method,
            "spans": self.spans,
        }


def _normalised(weights: Mapping[str, float]) -> dict[str, float]:
    total = sum(value for value in weights.values() if value > 0)
    if total <= 0:
        return {}
    ordered = sorted(((k, v / total) for k, v in weights.items() if v > 0), key=lambda item: -item[1])
    return dict(ordered)


def gradient_row_weights(
    evidence: Sequence[GradientEvidence], *, top_k: int = GRADIENT_TOP_K
) -> dict[int, float]:
    """Row → share of the gradient method's mass: positive top-k scores, squared, adapters weighted."""
    rows: dict[int, float] = defaultdict(float)
    for adapter in evidence:
        positive = [(row, score) for row, score in list(adapter.rows)[:top_k] if score > 0]
        total = sum(score**2 for _, score in positive)
        for row, score in positive:
            rows[row] += adapter.adapter_weight * score**2 / total
    total = sum(rows.values())
    return {row: weight / total for row, weight in rows.items()} if total > 0 else {}


def span_row_weights(spans: Sequence[SpanEvidence]) -> dict[int, float]:
    """Row → share of the span method's mass: each counted span's words shared by the rows containing it.

    A span that is not counted (too common in its datanet version) earns nothing, however long.
    """
    rows: dict[int, float] = defaultdict(float)
    for span in spans:
        if not span.counted or not span.row_ids:
            continue
        for row in span.row_ids:
            rows[row] += span.words / len(span.row_ids)
    total = sum(rows.values())
    return {row: weight / total for row, weight in rows.items()} if total > 0 else {}


def _roll_up(row_weights: Mapping[int, float], owners: Mapping[int, RowOwner]) -> tuple[dict, dict]:
    contributors: dict[str, float] = defaultdict(float)
    datanets: dict[str, float] = defaultdict(float)
    for row, weight in row_weights.items():
        owner = owners.get(row)
        if owner is None:  # a row deleted since training: its weight cannot be paid to anyone
            continue
        contributors[owner.wallet] += weight
        datanets[owner.datanet] += weight
    return _normalised(contributors), _normalised(datanets)


def combine(
    *,
    lineage_contributors: Mapping[str, float],
    lineage_datanets: Mapping[str, float],
    gradient: Sequence[GradientEvidence] = (),
    gradient_ran: bool = False,
    spans: Sequence[SpanEvidence] = (),
    span_ran: bool = False,
    answer_words: int = 0,
    owners: Mapping[int, RowOwner] | None = None,
    lineage_floor: float = LINEAGE_FLOOR,
) -> Attribution:
    """Mix lineage, gradient influence and span matches into contributor, datanet and row weights."""
    owners = owners or {}
    gradient_rows = gradient_row_weights(gradient)
    span_rows = span_row_weights(spans)
    gradient_contributors, gradient_datanets = _roll_up(gradient_rows, owners)
    span_contributors, span_datanets = _roll_up(span_rows, owners)

    covered = sum(span.words for span in spans if span.counted)
    coverage = min(1.0, covered / answer_words) if answer_words and span_contributors else 0.0
    evidence = 1.0 - lineage_floor
    method_weights = {"lineage": lineage_floor, "gradient": 0.0, "span": 0.0}
    if span_contributors:
        method_weights["span"] = evidence * coverage
    if gradient_contributors:
        method_weights["gradient"] = evidence * (1.0 - coverage)
    method_weights["lineage"] = 1.0 - method_weights["span"] - method_weights["gradient"]
    if not lineage_contributors and (span_contributors or gradient_contributors):
        # Evidence without lineage (rows of a datanet the manifest does not list) still pays on evidence.
        evidence_total = method_weights["span"] + method_weights["gradient"]
        method_weights = {
            "lineage": 0.0,
            "gradient": method_weights["gradient"] / evidence_total,
            "span": method_weights["span"] / evidence_total,
        }

    contributors: dict[str, float] = defaultdict(float)
    datanets: dict[str, float] = defaultdict(float)
    for weights, part in (
        ((lineage_contributors, lineage_datanets), method_weights["lineage"]),
        ((gradient_contributors, gradient_datanets), method_weights["gradient"]),
        ((span_contributors, span_datanets), method_weights["span"]),
    ):
        for wallet, weight in weights[0].items():
            contributors[wallet] += part * weight
        for datanet, weight in weights[1].items():
            datanets[datanet] += part * weight

    methods = ["lineage"] + (["gradient"] if gradient_ran else []) + (["span"] if span_ran else [])
    return Attribution(
        contributors=_normalised(contributors),
        datanets=_normalised(datanets),
        rows=_top_rows(gradient, gradient_rows, spans, span_rows, owners),
        methods=methods,
        method_weights={name: round(value, 6) for name, value in method_weights.items()},
        combination=(
            f"lineage {method_weights['lineage']:.0%} (floor {lineage_floor:.0%}), "
            f"gradient influence {method_weights['gradient']:.0%}, "
            f"span matching {method_weights['span']:.0%} (answer coverage {coverage:.0%}); "
            "see modelfactory/attribution/combination.py"
        ),
        by_method={
            "lineage": dict(lineage_contributors),
            "gradient": gradient_contributors,
            "span": span_contributors,
        },
        spans=[span.to_json() for span in spans],
    )


def _top_rows(
    gradient: Sequence[GradientEvidence],
    gradient_rows: Mapping[int, float],
    spans: Sequence[SpanEvidence],
    span_rows: Mapping[int, float],
    owners: Mapping[int, RowOwner],
) -> list[dict]:
    """The rows to show: span matches first (they are verbatim), then gradient rows by weight."""
    scores = {row: score for adapter in gradient for row, score in adapter.rows}
    span_of: dict[int, SpanEvidence] = {}
    for span in sorted((s for s in spans if s.counted), key=lambda s: -s.words):
        for row in span.row_ids:
            span_of.setdefault(row, span)
    shown: list[dict] = []
    for row, weight in sorted(span_rows.items(), key=lambda item: -item[1]):
        owner = owners.get(row)
        shown.append(
            {
                "row_id": row,
                "method": "span",
                "score": span_of[row].words,
                "weight": round(weight, 6),
                "span": span_of[row].text,
                "span_rows": span_of[row].rows,
                "indexed_rows": span_of[row].indexed_rows,
                "datanet": owner.datanet if owner else None,
                "contributor": owner.wallet if owner else None,
            }
        )
    for row, weight in sorted(gradient_rows.items(), key=lambda item: -item[1]):
        owner = owners.get(row)
        shown.append(
            {
                "row_id": row,
                "method": "gradient",
                "score": round(scores.get(row, 0.0), 6),
                "weight": round(weight, 6),
                "datanet": owner.datanet if owner else None,
                "contributor": owner.wallet if owner else None,
            }
        )
    return shown[:TOP_ROWS_SHOWN]
