"""Benchmark: a whole upload through the Django service, into a real database, in one transaction.

    python -m datanets.bench_import --rows 100000 --json var/bench/upload-import.json

`datanets.ingest.bench_ingest` measures the parser alone; this measures what a user waits for: reading,
validating, token counting with the base model's tokenizer (when built) and writing every row.
It runs against a throwaway SQLite database (or `--database-url`, e.g. PostgreSQL) so nothing
real is touched, and prints rows/s and peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from primitives.benchmark_report import bench_report, write_bench_report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--json", type=Path, help="write the result here")
    parser.add_argument("--database-url", help="default: a new SQLite file in a temporary directory")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="mf-import-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "modelfactory.settings.base")
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{workdir / 'db.sqlite3'}"
    os.environ["MODELFACTORY_VAR_DIR"] = str(workdir / "var")
    os.environ.setdefault("MODELFACTORY_BASE_MODEL", str(Path("var/models/smollm2-135m-instruct").resolve()))
    os.environ["MODELFACTORY_UPLOAD_INLINE_BYTES"] = str(10**12)  # import inside this process
    os.environ["MODELFACTORY_UPLOAD_MAX_BYTES"] = str(10**10)
    os.environ["MODELFACTORY_UPLOAD_DAILY_QUOTA_BYTES"] = str(10**11)
    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command

    from datanets.ingest import ColumnMapping
    from datanets.models import Upload
    from datanets.services import datanet_upsert
    from datanets.token_counting import counter_for_base_model
    from datanets.upload_services import upload_receive, upload_start_import
    from modelfactory.accounts.services import user_upsert

    call_command("migrate", verbosity=0)
    owner = user_upsert(username="bench-owner")
    datanet = datanet_upsert(
        slug="bench", title="Bench", description="", tags=[], license="CC0-1.0", owner=owner
    )
    lines = [
        json.dumps(
            {
                "messages": [
                    {"role": "user", "content": f"Question {i}: how long should I rest dough number {i}?"},
                    {
                        "role": "assistant",
                        "content": f"Rest dough {i} for {10 + i % 50} minutes, covered, at room temperature.",
                    },
                ]
            }
        )
        for i in range(args.rows)
    ]
    data = ("\n".join(lines) + "\n").encode()
    exact = counter_for_base_model(os.environ["MODELFACTORY_BASE_MODEL"]).exact

    started = time.perf_counter()
    upload = upload_receive(datanet=datanet, uploader=owner, file=SimpleUploadedFile("bench.jsonl", data))
    upload_start_import(
        upload=upload, user=owner, mode=Upload.Mode.VALID_ROWS, mapping=ColumnMapping(messages="messages")
    )
    seconds = time.perf_counter() - started
    upload.refresh_from_db()
    result = {
        "rows": args.rows,
        "imported": upload.accepted_count,
        "rejected": upload.rejected_count,
        "status": upload.status,
        "seconds": round(seconds, 2),
        "rows_per_second": round(args.rows / seconds),
        "file_mb": round(len(data) / 2**20, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "exact_token_counts": exact,
        "database": django.db.connection.vendor,
        "target_seconds": 60,
    }
    print(
        f"{result['imported']:,} rows imported in {seconds:.1f} s ({result['rows_per_second']:,} rows/s) "
        f"into {result['database']}; peak RSS {result['peak_rss_mb']} MB; exact token counts: {exact}"
    )
    write_bench_report(args.json, bench_report("datanet-import", result))
    return 0 if upload.status == Upload.Status.IMPORTED else 1


if __name__ == "__main__":
    sys.exit(main())
