"""The per-step metrics already delivered, kept next to the checkpoints so resume never repeats one.

Every record handed to the caller's ``on_metrics`` is then appended here as one JSON line. A resumed
run re-executes the steps after its last checkpoint; it reads the journal first and does not deliver
again any step the journal already holds. Delivery is at-least-once across a ``kill -9`` (the
process may die after ``on_metrics`` returned and before the line was written), so callers store
metrics keyed by ``step`` (a unique constraint, insert-or-ignore) and get exactly-once rows.

The file is also a readable log of the run (the job page's log tail can show its last lines).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

JOURNAL_FILENAME = "metrics.jsonl"


def read_metrics_journal(output_dir: Path) -> list[dict[str, Any]]:
    """All journaled step records, in order; a line cut short by a kill is skipped."""
    path = Path(output_dir) / JOURNAL_FILENAME
    if not path.is_file():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("step"), int):
            records.append(record)
    return records


class MetricsJournal:
    """Append-only JSONL of delivered step records; ``last_step`` is the dedup watermark."""

    def __init__(self, output_dir: Path) -> None:
        self.path = Path(output_dir) / JOURNAL_FILENAME
        records = read_metrics_journal(Path(output_dir))
        self.last_step = max((r["step"] for r in records), default=0)
        self._repair_torn_tail()

    def already_delivered(self, step: int) -> bool:
        return step <= self.last_step

    def append(self, record: dict[str, Any]) -> None:
        with self.path.open("a") as journal:
            journal.write(json.dumps(record, sort_keys=True) + "\n")
        self.last_step = max(self.last_step, int(record["step"]))

    def _repair_torn_tail(self) -> None:
        # A kill in the middle of a write leaves a line without its newline; the next record would be
        # glued to it. Terminate it (it is then skipped as unparsable).
        if self.path.is_file() and self.path.stat().st_size:
            with self.path.open("rb+") as journal:
                journal.seek(-1, 2)
                if journal.read(1) != b"\n":
                    journal.write(b"\n")
