"""Time the national desil: bucketed windows (``with_desil``) against one global window.

    python benchmarks/desil.py --families 1000000 10000000 --repeat 3 \
        --set spark.driver_memory=12g

For each size and method a fresh child process (this script with ``--child``) builds a
session through the project's builder, generates the same synthetic families in Spark
(``spark.range`` + seeded ``rand``: skor ~ N(0, 1), 1-8 people, 514 kab/kota in 38
provinces), ranks them nationally and forces execution with a ``noop`` write: that is
the timed step, run ``--repeat`` times. A child per method keeps one method's JVM heap
out of the other's memory peak, and lets a run that dies or passes ``--timeout`` be
recorded instead of ending the benchmark. Each child then reads the largest task of the
timed jobs from Spark's REST API and computes a checksum, the sum of ``hash(key, desil,
percentile)`` (nothing is collected); the parent checks both methods' checksums agree.

One JSON line per child is appended to ``benchmarks/results.jsonl``: ``wall_seconds`` is
the best timed run (the machine may be shared), ``runs_seconds`` all of them,
``peak_rss_gib`` the child's whole process tree. A table is printed at the end.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from measure import tree_rss

log = logging.getLogger("benchmarks.desil")

METHODS = ("bucketed", "naive")
TIMED = "desil-timed"
SEED = 20250205
KAB, PROV = 514, 38


def families(spark, n: int):
    """``n`` synthetic families, identical in every process (same seed, same splits)."""
    from pyspark.sql import functions as F

    kab = (F.rand(SEED) * KAB).cast("int")
    return spark.range(n).select(
        F.format_string("K%010d", "id").alias("dtsen_keluarga_id"),
        F.format_string("%02d", (kab * PROV / KAB).cast("int") + 11).alias("kode_prov"),
        F.format_string("%04d", kab + 1101).alias("kode_kab"),
        F.randn(SEED + 1).alias("skor"),
        ((F.rand(SEED + 2) * 8).cast("int") + 1).alias("jumlah_anggota"),
    )


def child(method: str, n: int, overrides: list[str], repeat: int, out: Path) -> None:
    """``repeat`` timed runs in this process; results go to ``out`` as JSON lines."""
    from pyspark.sql import functions as F

    from dtsen.config import load_config
    from dtsen.session import build_session
    from ranking.desil import reference_desil, with_desil

    rank = with_desil if method == "bucketed" else reference_desil
    with tempfile.TemporaryDirectory(prefix="desil-bench-") as warehouse:
        cfg = load_config(None, overrides, warehouse=warehouse)
        spark = build_session(cfg)
        args = {"by": [], "desil_col": "desil", "percentile_col": "persentil"}
        spark.sparkContext.setJobGroup(TIMED, "timed desil runs")
        runs = []
        for _ in range(repeat):
            started = time.monotonic()
            ranked = rank(families(spark, n), **args)  # with_desil's score sketch runs here
            ranked.write.format("noop").mode("overwrite").save()
            runs.append(round(time.monotonic() - started, 1))
            _emit(out, {"runs_seconds": runs})
        spark.sparkContext.setJobGroup("checksum", "checksum, not timed")
        _emit(out, largest_task(spark, TIMED))
        checksum = ranked.agg(
            F.sum(F.hash("dtsen_keluarga_id", "desil", "persentil").cast("long"))
        ).first()[0]
        _emit(out, {"checksum": checksum})
        spark.stop()


def largest_task(spark, group: str) -> dict:
    """Rows and execution memory of the largest task of a job group, from Spark's REST API.

    The figure that decides whether a method scales: a single global window reads every
    row in one task, whatever the cluster. Empty when the UI (and its API) is off.
    """
    sc = spark.sparkContext
    if not sc.uiWebUrl:
        return {}
    base = f"{sc.uiWebUrl}/api/v1/applications/{sc.applicationId}"
    try:
        jobs = _get(f"{base}/jobs")
        rows = memory = 0.0
        for stage in {s for j in jobs if j.get("jobGroup") == group for s in j["stageIds"]}:
            for attempt in _get(f"{base}/stages/{stage}"):
                if attempt["status"] != "COMPLETE":  # SKIPPED: shuffle reused, no tasks
                    continue
                url = f"{base}/stages/{stage}/{attempt['attemptId']}/taskSummary?quantiles=1.0"
                summary = _get(url)
                rows = max(rows, summary["shuffleReadMetrics"]["readRecords"][0])
                memory = max(memory, summary["peakExecutionMemory"][0])
    except urllib.error.URLError as exc:
        log.warning("task metrics unavailable from %s: %s", base, exc)
        return {}
    return {"largest_task_rows": int(rows), "largest_task_memory_mib": round(memory / 2**20)}


def _get(url: str):
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def _emit(out: Path, record: dict) -> None:
    with out.open("a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def run(method: str, n: int, overrides: list[str], repeat: int, timeout: float) -> dict:
    """Run one child, sampling its process tree's memory; kill it after ``timeout``."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch, "result.jsonl")
        out.touch()
        command = [sys.executable, __file__, "--child", method, "--families", str(n)]
        command += ["--repeat", str(repeat)]
        command += [x for o in overrides for x in ("--set", o)]
        started = time.monotonic()
        # A session of its own, so a timeout can end exactly this child and its JVM.
        proc = subprocess.Popen([*command, "--child-out", str(out)], start_new_session=True)
        peak, timed_out = 0, False
        while proc.poll() is None:
            peak = max(peak, tree_rss(proc.pid))
            if time.monotonic() - started > timeout:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                timed_out = True
            time.sleep(0.5)
        found: dict = {}
        for line in out.read_text(encoding="utf-8").splitlines():
            found.update(json.loads(line))
    return {
        "label": f"desil-{method}-{_size(n)}",
        "command": " ".join(["python", os.path.relpath(__file__), *command[2:]]),
        "exit_code": proc.returncode,
        # Best of the repeats: the machine is shared, so the minimum is the least noisy.
        "wall_seconds": min(found["runs_seconds"]) if "runs_seconds" in found else None,
        "runs_seconds": found.get("runs_seconds", []),
        "process_seconds": round(time.monotonic() - started, 1),
        "peak_rss_gib": round(peak / 2**30, 2),
        "cores": os.cpu_count(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "families": n,
        "method": method,
        "checksum": found.get("checksum"),
        "largest_task_rows": found.get("largest_task_rows"),
        "largest_task_memory_mib": found.get("largest_task_memory_mib"),
        "outcome": "timeout" if timed_out else ("ok" if proc.returncode == 0 else "failed"),
        "load_1m": round(os.getloadavg()[0], 1),
    }


def _size(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else str(n)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="K=V")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per child (best kept)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per child")
    parser.add_argument("--results", default=str(Path(__file__).with_name("results.jsonl")))
    parser.add_argument("--child", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.child:
        child(args.child, args.families[0], args.overrides, args.repeat, args.child_out)
        return 0

    rows = []
    for n in args.families:
        runs = []
        for method in args.methods:
            log.info("desil %s, %d families", method, n)
            runs.append(run(method, n, args.overrides, args.repeat, args.timeout))
        # None when fewer than two methods produced a checksum: nothing to compare.
        sums = [r["checksum"] for r in runs if r["checksum"] is not None]
        agree = len(set(sums)) == 1 if len(sums) >= 2 else None
        with open(args.results, "a", encoding="utf-8") as f:
            for r in runs:
                r["checksums_agree"] = agree
                f.write(json.dumps(r) + "\n")
        rows += runs
    print(
        f"{'families':>12} {'method':<9} {'best s':>7} {'runs s':<18} {'peak GiB':>8}"
        f" {'largest task rows':>17} {'outcome':<8} agree"
    )
    for r in rows:
        best = "-" if r["wall_seconds"] is None else f"{r['wall_seconds']:.1f}"
        runs = ",".join(f"{x:.1f}" for x in r["runs_seconds"]) or "-"
        largest = "-" if r["largest_task_rows"] is None else f"{r['largest_task_rows']:,}"
        agree = {True: "yes", False: "NO", None: "-"}[r["checksums_agree"]]
        print(
            f"{r['families']:>12,} {r['method']:<9} {best:>7} {runs:<18} {r['peak_rss_gib']:>8.2f}"
            f" {largest:>17} {r['outcome']:<8} {agree}"
        )
    ok = all(r["outcome"] == "ok" and r["checksums_agree"] is not False for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
