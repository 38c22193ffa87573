"""The record of one tiny-model build, written as ``build_report.json`` next to the weights.

It doubles as the cache key and the completeness marker: it is the last file written into the
staging directory, and a later build reuses the model only if the recorded corpus hash and build
config equal the requested ones.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

REPORT_FILENAME = "build_report.json"
REPORT_FORMAT_VERSION = 2  # 2: the tiny fixture alone, without size and stopped_by
#: Files without which a directory is not a usable model, whatever its report says.
MODEL_FILES: tuple[str, ...] = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")


@dataclass
class BuildReport:
    """What a build did and what it learnt: the numbers the fixture's own tests check."""

    output_dir: str
    parameter_count: int
    vocab_size: int
    steps: int
    tokens_seen: int
    train_seconds: float
    build_seconds: float
    perplexity_untrained: float
    perplexity_trained: float
    corpus_hash: str
    corpus_documents: int
    held_out_documents: int
    train_tokens: int
    held_out_tokens: int
    build_config: dict[str, Any]
    created_at: str
    format_version: int = REPORT_FORMAT_VERSION
    #: True when this report was read back from an earlier build instead of training now.
    from_cache: bool = field(default=False, compare=False)

    def to_json(self) -> str:
        data = asdict(self)
        data.pop("from_cache")
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    def write(self, directory: Path) -> None:
        (Path(directory) / REPORT_FILENAME).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def read(cls, directory: Path) -> BuildReport:
        data = json.loads((Path(directory) / REPORT_FILENAME).read_text(encoding="utf-8"))
        known = {f.name for f in fields(cls)} - {"from_cache"}
        report = cls(**{key: value for key, value in data.items() if key in known})
        report.output_dir = str(directory)  # the directory may have been moved since the build
        return report


def read_complete_report(directory: Path) -> BuildReport | None:
    """The directory's report if it holds a complete, readable build; otherwise None."""
    directory = Path(directory)
    if not all((directory / name).is_file() for name in (*MODEL_FILES, REPORT_FILENAME)):
        return None
    try:
        report = BuildReport.read(directory)
    except (OSError, ValueError, TypeError):
        return None
    if report.format_version != REPORT_FORMAT_VERSION:
        return None
    return report
