"""One verbatim span of an answer as a receipt keeps it (Django-free: the attribution worker and its
benchmark build it, the receipt pages read it back).

It lives with the ledger because it is part of the receipt's record (`ReceiptAttribution.spans`): the
pages that show a receipt read it without depending on the attribution app that found it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SpanEvidence:
    """A verbatim span of the answer, the rows that contain it and its length in words.

    `rows` (k) is how many distinct rows of the datanet version contain the span and `indexed_rows` (M)
    how many rows that version's index holds: "found in k of M rows" is why a span counted or, when
    `counted` is false, why it was too common to credit (`reason`). Evidence stored before the rarity rule
    has neither: it reads as counted with k and M unknown (None), which is how it was paid.
    """

    text: str
    words: int
    row_ids: Sequence[int]
    occurrences: int
    rows: int | None = None
    indexed_rows: int | None = None
    counted: bool = True
    reason: str = ""
    datanet: str | None = None

    def to_json(self) -> dict:
        return {
            "text": self.text,
            "words": self.words,
            "row_ids": list(self.row_ids),
            "occurrences": self.occurrences,
            "rows": self.rows,
            "indexed_rows": self.indexed_rows,
            "counted": self.counted,
            "reason": self.reason,
            "datanet": self.datanet,
        }

    @classmethod
    def from_json(cls, data: Mapping) -> SpanEvidence:
        """Read stored evidence, old or new: a missing key means what the code meant before it existed."""
        return cls(
            text=data.get("text", ""),
            words=int(data.get("words", 0)),
            row_ids=tuple(data.get("row_ids", ())),
            occurrences=int(data.get("occurrences", len(data.get("row_ids", ())))),
            rows=data.get("rows"),
            indexed_rows=data.get("indexed_rows"),
            counted=bool(data.get("counted", True)),
            reason=data.get("reason", ""),
            datanet=data.get("datanet"),
        )
