"""Benchmark: import a generated 100,000-row JSONL file the way the Celery task will, and time it.

    python -m datanets.ingest.bench_ingest --rows 100000 --json var/bench/ingest.json

The file mixes chat rows (some with a system message) and prompt/completion-shaped chat, with
about 1% repeats and 0.5% broken lines, so every stage (parse, normalize, hash, duplicate check,
token count) does real work. Token counts use the demo base model's own tokenizer when it has been
built (``var/models/smollm2-135m-instruct/tokenizer.json``), otherwise the one-token-per-four-bytes estimate,
and the result says which. Peak memory is the process's peak resident set (``ru_maxrss``), measured
before and after the import so the growth the import caused is visible; ``--tracemalloc`` adds the
Python heap's peak, at the cost of a slower run.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

from datanets.ingest.formats import ColumnMapping
from datanets.ingest.outcomes import NormalizedRow
from datanets.ingest.pipeline import iter_validated
from datanets.ingest.upload_source import DEFAULT_MAX_BYTES
from datanets.token_counting import TokenCounter
from primitives.benchmark_report import bench_report, write_bench_report

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_TOKENIZER = REPO_ROOT / "var" / "models" / "smollm2-135m-instruct" / "tokenizer.json"
MAX_TOKENS = 2048

_TOPICS = [
    "sourdough starter",
    "a leaking tap",
    "VAT on invoices",
    "Python generators",
    "tomato blight",
    "password resets",
    "bike chain wear",
    "GDPR consent",
    "rice cookers",
    "unit tests",
]
_WORDS = [
    "the",
    "a",
    "of",
    "to",
    "and",
    "in",
    "is",
    "it",
    "you",
    "that",
    "for",
    "on",
    "with",
    "as",
    "be",
    "at",
    "this",
    "have",
    "from",
    "or",
    "by",
    "not",
    "but",
    "what",
    "all",
    "when",
    "can",
    "your",
    "there",
    "use",
    "each",
    "which",
    "how",
    "their",
    "if",
    "will",
    "other",
    "about",
    "many",
    "then",
    "them",
    "these",
    "so",
    "some",
    "would",
    "make",
    "like",
    "into",
    "time",
    "has",
    "two",
    "more",
    "write",
    "go",
    "see",
    "number",
    "no",
    "way",
    "could",
    "people",
    "my",
    "than",
    "first",
    "water",
    "been",
    "call",
    "who",
    "oil",
    "its",
    "now",
    "find",
    "long",
    "down",
    "day",
    "did",
    "get",
    "come",
    "made",
    "may",
    "part",
]


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words)).capitalize() + "."


def _row(rng: random.Random, number: int) -> dict:
    topic = _TOPICS[number % len(_TOPICS)]
    messages = (
        [{"role": "system", "content": f"You help with {topic}. Answer briefly."}] if number % 3 == 0 else []
    )
    for turn in range(1 + number % 2):
        messages.append(
            {"role": "user", "content": f"Question {number}.{turn} about {topic}: {_sentence(rng, 10)}"}
        )
        messages.append({"role": "assistant", "content": " ".join(_sentence(rng, 12) for _ in range(3))})
    return {"messages": messages}


def write_benchmark_file(path: Path, rows: int, seed: int = 0) -> dict[str, int]:
    """Write ``rows`` lines; returns how many were made to be repeats and broken on purpose."""
    rng = random.Random(seed)
    planted = Counter()
    recent: list[str] = []
    with path.open("w", encoding="utf-8") as out:
        for number in range(rows):
            if number % 200 == 199:
                line = '{"messages": [{"role": "user", "content": "unterminated'
                planted["broken"] += 1
            elif number % 100 == 50 and recent:
                line = rng.choice(recent)
                planted["repeats"] += 1
            else:
                line = json.dumps(_row(rng, number), ensure_ascii=False)
                recent = [*recent[-50:], line]
            out.write(line + "\n")
    return dict(planted)


def run(rows: int, tokenizer: Path | None, use_tracemalloc: bool) -> dict:
    counter = TokenCounter(tokenizer)
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as directory:
        path = Path(directory) / "bench.jsonl"
        planted = write_benchmark_file(path, rows)
        file_bytes = path.stat().st_size
        rss_before = _peak_rss_bytes()
        if use_tracemalloc:
            tracemalloc.start()
        reasons: Counter[str] = Counter()
        accepted = tokens = 0
        started = time.perf_counter()
        for verdict in iter_validated(
            path,
            filename=path.name,
            mapping=ColumnMapping(messages="messages"),
            existing_hashes=frozenset(),
            count_tokens=counter.count,
            max_tokens=MAX_TOKENS,
            max_bytes=max(DEFAULT_MAX_BYTES, file_bytes),
        ):
            if isinstance(verdict, NormalizedRow):
                accepted += 1
                tokens += verdict.token_count
            else:
                reasons[re.sub(r"\d[\d,]*", "N", verdict.reason)] += 1
        seconds = time.perf_counter() - started
        heap_peak = tracemalloc.get_traced_memory()[1] if use_tracemalloc else None
        if use_tracemalloc:
            tracemalloc.stop()
        rss_after = _peak_rss_bytes()
    rejected = sum(reasons.values())
    return {
        "rows": rows,
        "file_bytes": file_bytes,
        "seconds": round(seconds, 3),
        "rows_per_second": round(rows / seconds),
        "accepted": accepted,
        "rejected": rejected,
        "rejections_by_reason": dict(reasons),
        "planted": planted,
        "tokens": tokens,
        "token_counter": f"exact ({tokenizer})" if counter.exact else "estimate (1 token per 4 bytes)",
        "peak_rss_mb": round(rss_after / 2**20, 1),
        "peak_rss_growth_during_import_mb": round((rss_after - rss_before) / 2**20, 1),
        "python_heap_peak_mb": None if heap_peak is None else round(heap_peak / 2**20, 1),
        "tracemalloc": use_tracemalloc,
        "python": sys.version.split()[0],
        "accounted_for": accepted + rejected == rows,
    }


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--json", type=Path, help="write the result here as JSON")
    parser.add_argument(
        "--tokenizer", type=Path, default=DEMO_TOKENIZER, help="a tokenizer.json to count with"
    )
    parser.add_argument(
        "--tracemalloc", action="store_true", help="also measure the Python heap peak (slower)"
    )
    args = parser.parse_args(argv)
    result = run(args.rows, args.tokenizer if args.tokenizer.is_file() else None, args.tracemalloc)
    print(
        f"{result['rows']:,} rows ({result['file_bytes'] / 2**20:.1f} MB) in {result['seconds']:.1f} s: "
        f"{result['rows_per_second']:,} rows/s"
    )
    print(
        f"accepted {result['accepted']:,}, rejected {result['rejected']:,} {result['rejections_by_reason']}"
    )
    print(f"tokens counted with the {result['token_counter']}")
    print(
        f"peak RSS {result['peak_rss_mb']} MB "
        f"(+{result['peak_rss_growth_during_import_mb']} MB during the import)"
        + (f", Python heap peak {result['python_heap_peak_mb']} MB" if args.tracemalloc else "")
    )
    write_bench_report(args.json, bench_report("ingest", result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
