"""A receipt's attribution, typed: who an answer is owed to, by which methods, on what evidence.

It is stored as JSON (`InferenceReceipt.attribution`), first written from lineage when the answer is
recorded, then rewritten by the attribution worker. Readers take it through `from_json` and read
attributes, so the keys are spelled in this one module. Parts a receipt may lack (receipts written
before they existed, or before the worker ran) are None here and absent from `to_json`: reading a
record and writing it back keeps exactly the keys it had.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class LineageWeights:
    """Contributor and datanet weights by share of training rows, kept beside the evidence: a receipt
    settled before its attribution finished is paid on these. `people` names the person behind each
    contributor key (absent on receipts written before people were owed by person)."""

    contributors: Mapping[str, float]
    datanets: Mapping[str, float]
    people: Mapping[str, int] | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LineageWeights:
        return cls(
            contributors=dict(data.get("contributors", {})),
            datanets=dict(data.get("datanets", {})),
            people=dict(data["people"]) if "people" in data else None,
        )

    def to_json(self) -> dict:
        stored: dict[str, Any] = {"contributors": dict(self.contributors), "datanets": dict(self.datanets)}
        if self.people is not None:
            stored["people"] = dict(self.people)
        return stored


@dataclass(frozen=True)
class ReceiptAttribution:
    """What a receipt says of who is owed for its answer.

    `contributors` and `datanets` are what the split pays (each summing to 1, or empty); `rows` the most
    influential training rows and `spans` every verbatim span found (`SpanEvidence.to_json`), both shown
    on the receipt's pages.
    """

    methods: list[str]
    combination: str
    contributors: Mapping[str, float]
    datanets: Mapping[str, float]
    rows: list[dict]
    people: Mapping[str, int] | None = None
    """The person behind each contributor key, on a receipt still on lineage."""
    lineage: LineageWeights | None = None
    notes: list[str] | None = None
    method_weights: Mapping[str, float] | None = None
    by_method: Mapping[str, Mapping[str, float]] | None = None
    spans: list[dict] | None = None
    seconds: float | None = None
    """How long the attribution worker took."""
    settled_on: str | None = None
    """Set to "lineage" when the receipt settled before attribution finished: it was paid on lineage."""
    evidence_weights: Mapping[str, Mapping[str, float]] | None = None
    """The weights the evidence gave, kept beside the lineage weights paid (`settled_on`)."""
    error: str | None = None
    """Why attribution gave up (the receipt is paid on lineage)."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> ReceiptAttribution:
        data = data or {}
        return cls(
            methods=list(data.get("methods", [])),
            combination=data.get("combination", ""),
            contributors=dict(data.get("contributors", {})),
            datanets=dict(data.get("datanets", {})),
            rows=list(data.get("rows", [])),
            people=data.get("people"),
            lineage=LineageWeights.from_json(data["lineage"]) if "lineage" in data else None,
            notes=data.get("notes"),
            method_weights=data.get("method_weights"),
            by_method=data.get("by_method"),
            spans=data.get("spans"),
            seconds=data.get("seconds"),
            settled_on=data.get("settled_on"),
            evidence_weights=data.get("evidence_weights"),
            error=data.get("error"),
        )

    def to_json(self) -> dict:
        stored: dict[str, Any] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if value is None:
                continue
            stored[field.name] = value.to_json() if isinstance(value, LineageWeights) else value
        return stored

    @property
    def lineage_weights(self) -> LineageWeights:
        """The weights lineage gave this answer: the ones kept beside the evidence, or on a receipt
        written before they were kept, its own (it was then on lineage alone)."""
        if self.lineage is not None:
            return self.lineage
        return LineageWeights(contributors=self.contributors, datanets=self.datanets)
