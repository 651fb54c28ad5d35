"""Time Cek DTSEN point reads: p50 and p99 over 1,000 random lookups at 1M persons.

    python benchmarks/cek.py [--warehouse /tmp/dtsen-update-bench/warehouse] \
        [--persons 1000000] [--lookups 1000] [--work DIR] [--set ranking.periode=2025Q2]

Builds the lookup of ``ranking.periode`` from a ranked warehouse (read only: the lookup
goes to ``--work``, a warehouse of its own). When the warehouse has fewer persons than
``--persons``, its rows are replicated with re-derived keys (SHA-256 of the key and the
copy's number, so every copy lands in its own bucket like a real key would) until the
table holds at least that many; the output says so (``replicated_from``). Then times
``--lookups`` point reads of random existing keys, and 20 unknown keys, through the
reader ``jobs/cek.py`` uses (:class:`dtsen.io.lookup_store.LookupStore`, delta-rs, no
Spark), and one whole ``python -m jobs.cek --nik`` process (imports, config, log, read).

Prints the JSON and a Markdown table, and appends the JSON to ``benchmarks/results.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).with_name("results.jsonl")
ROOT = Path(__file__).resolve().parents[1]
SEED = 20250205
UNKNOWN = 20


def _replicate(rows, copies: int):
    """``copies`` copies of the lookup rows, copy 0 the original, the others re-keyed."""
    from pyspark.sql import functions as F

    from publish.lookup import BUCKET_DIGITS

    copy = F.col("salinan")
    key = F.when(copy == 0, F.col("kunci")).otherwise(
        F.sha2(F.concat_ws(":", F.col("kunci"), copy.cast("string")), 256)
    )
    return (
        rows.crossJoin(rows.sparkSession.range(copies).withColumnRenamed("id", "salinan"))
        .withColumn("kunci", key)
        .withColumn("bucket", F.substring("kunci", 1, BUCKET_DIGITS))
        .select(*rows.columns)
    )


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def _table_size(path: str) -> tuple[int, int]:
    files = list(Path(path).rglob("*.parquet"))
    return len(files), sum(p.stat().st_size for p in files)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", default="/tmp/dtsen-update-bench/warehouse")
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=1000)
    parser.add_argument("--work", help="the lookup's own warehouse (default: a temporary folder)")
    parser.add_argument("--label", default="cek-lookup")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()

    from pyspark.sql import functions as F

    from dtsen.config import load_config
    from dtsen.io.lookup_store import TABLE, LookupStore, write_lookup
    from dtsen.session import build_session, remove_scratch
    from dtsen.storage import Storage
    from dtsen.storage.periods import latest_periods
    from jobs.cek import lookup_of

    cfg = load_config(None, args.overrides, warehouse=args.warehouse)
    work = args.work or tempfile.mkdtemp(prefix="dtsen-cek-bench-")
    spark = build_session(cfg)
    try:
        source = Storage(spark, cfg.storage.root, cfg.storage.engine)
        if not any(o.startswith("ranking.periode=") for o in args.overrides):
            # The warehouse's latest ranked period (its update, once that is ranked).
            (latest,) = latest_periods(source, "gold/peringkat", 1)
            cfg = cfg.model_copy(
                update={"ranking": cfg.ranking.model_copy(update={"periode": latest})}
            )
        target = Storage(spark, work, cfg.storage.engine)
        started = time.monotonic()
        rows, lalu = lookup_of(cfg, source)
        rows = rows.localCheckpoint()
        built = rows.count()
        build_seconds = time.monotonic() - started
        copies = max(1, math.ceil(args.persons / built))
        started = time.monotonic()
        table = _replicate(rows, copies) if copies > 1 else rows
        write_lookup(target, table)
        write_seconds = time.monotonic() - started
        stored = target.read(TABLE)
        total = stored.count()
        # Random existing keys (hashes, not personal data): about twice the number asked,
        # by a seeded filter, then the first ones.
        fraction = min(1.0, 2.0 * args.lookups / total)
        keys = [
            r.kunci
            for r in stored.where(F.rand(SEED) < fraction)
            .select("kunci")
            .limit(args.lookups)
            .collect()
        ]
    finally:
        remove_scratch(spark)
        spark.stop()

    started = time.perf_counter()
    store = LookupStore(work)
    open_ms = (time.perf_counter() - started) * 1000
    timings = []
    for key in keys:
        started = time.perf_counter()
        row = store.find(key)
        timings.append((time.perf_counter() - started) * 1000)
        assert row is not None, "an existing key was not found"
    unknown = []
    for _ in range(UNKNOWN):
        key = secrets.token_hex(32)
        started = time.perf_counter()
        assert store.find(key) is None
        unknown.append((time.perf_counter() - started) * 1000)
    started = time.monotonic()
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "jobs.cek",
            "--nik",
            "3201014501900001",
            "--warehouse",
            work,
            *(x for o in args.overrides for x in ("--set", o)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    cli_seconds = time.monotonic() - started
    files, size = _table_size(store.path)
    result = {
        "label": args.label,
        "warehouse": args.warehouse,
        "periode": cfg.ranking.periode,
        "periode_lalu": lalu,
        "persons": total,
        "replicated_from": built if copies > 1 else None,
        "copies": copies,
        "lookups": len(timings),
        "p50_ms": round(statistics.median(timings), 2),
        "p99_ms": round(_percentile(timings, 0.99), 2),
        "max_ms": round(max(timings), 2),
        "unknown_p50_ms": round(statistics.median(unknown), 2),
        "open_ms": round(open_ms, 1),
        "cli_seconds": round(cli_seconds, 2),
        "cli_exit_code": cli.returncode,
        "build_seconds": round(build_seconds, 1),
        "write_seconds": round(write_seconds, 1),
        "files": files,
        "table_mib": round(size / 2**20, 1),
        "cores": os.cpu_count(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    print(json.dumps(result, indent=2))
    print(
        "| persons | replicated from | lookups | p50 ms | p99 ms | max ms | unknown p50 ms "
        "| open ms | CLI s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {total:,} | {result['replicated_from'] or '-'} | {len(timings)} | {result['p50_ms']} "
        f"| {result['p99_ms']} | {result['max_ms']} | {result['unknown_p50_ms']} "
        f"| {result['open_ms']} | {result['cli_seconds']} |"
    )
    with open(RESULTS, "a", encoding="utf-8") as out:
        out.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
