"""Side by side: plain Splink 5 on DuckDB, the same model on Spark local, and the project's link.

    python benchmarks/linkage_side_by_side.py --individuals 100000 1000000 --work /tmp/sbs
    python benchmarks/linkage_side_by_side.py --delivery DIR --work /tmp/sbs --runs project

For each size, generates a delivery with ``_truth/`` (``jobs.generate``, kept under
``--work`` and reused when it is already there) or takes ``--delivery``, then runs one
after another: ``duckdb`` and ``spark`` (``splink_baseline.py``: every record through one
probabilistic model) and ``project`` (``jobs.ingest``, then ``jobs.link``, measured
separately). Each run is its own process tree, so each peak is its own: wall time to the
run's exit, peak resident memory of the whole tree (driver, JVM, Python workers) sampled
every half second as ``measure.py`` does, and CPU time from the kernel's resource usage of
every process of the tree. This script makes itself the tree's child subreaper, so a JVM
its Python driver leaves behind is still reaped, and counted, here.

After the runs (outside any measurement) every run is scored against ``_truth/`` with the
project's pairwise metric, ``linkage.evaluate.pairwise_metrics``, over (predicted
cluster, true cluster) per source record: the project's clusters from
``gold/link_individu`` / ``gold/link_keluarga`` through ``linkage.evaluate.scored_records``,
the baselines' from their ``persons.parquet`` / ``families.parquet``. Comparisons are the
pairs each run scores: the baselines' blocking rules counted exactly by Splink on their
standardised records, the project's from ``gold/linkage_blocking``.

Rows are merged into ``--results`` (JSON; a rerun replaces the rows of the same size and
run, so a 10M project run can be added later), and the whole file is printed and written
as a Markdown table (``.md`` beside it) and a plot of wall time against size (``.png``).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from measure import tree_rss

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
RUNS = ("duckdb", "spark", "project")
PR_SET_CHILD_SUBREAPER = 36
PAGE = os.sysconf("SC_PAGE_SIZE")


def _own_rss() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * PAGE


def measure(command: list[str], log_path: Path) -> dict[str, Any]:
    """Run ``command`` to the end of its whole process tree: wall, CPU and peak memory.

    Every process of the tree ends up reaped here (its parent's wait, or ours as the
    subreaper), and ``wait4`` gives each one's CPU time including the children it reaped
    itself: their sum is the tree's. Wall time stops when the command itself exits.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    peak, cpu, wall, code = 0, 0.0, None, None
    while True:
        peak = max(peak, tree_rss(os.getpid()) - _own_rss())
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:  # the tree is gone
            break
        if pid == 0:
            time.sleep(0.5)
            continue
        cpu += usage.ru_utime + usage.ru_stime
        if pid == proc.pid:
            wall, code = time.monotonic() - started, os.waitstatus_to_exitcode(status)
    proc.returncode = code  # reaped above, not by Popen
    return {
        "exit_code": code,
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
        "peak_rss_gib": round(peak / 2**30, 2),
        "command": " ".join(command),
        "log": str(log_path),
    }


def _job(name: str, delivery: Path, warehouse: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        f"jobs.{name}",
        "--conf",
        "conf/local.yaml",
        "--input",
        str(delivery),
        "--warehouse",
        str(warehouse),
        *extra,
    ]


def generate(n: int, work: Path) -> Path:
    """A delivery of ``n`` persons under ``work`` (reused when its truth is there)."""
    delivery = work / "delivery"
    if not (delivery / "_truth" / "keluarga").exists():
        extra = ("--individuals", str(n), "--set", "generate.update_output=")
        result = measure(
            _job("generate", delivery, work / "generate-warehouse", *extra),
            work / "logs" / "generate.log",
        )
        if result["exit_code"] != 0:
            raise RuntimeError(f"generate {n} failed: see {result['log']}")
    return delivery


def _set(overrides: list[str]) -> list[str]:
    return [arg for value in overrides for arg in ("--set", value)]


def run_all(
    size: int, delivery: Path, work: Path, runs: list[str], args: argparse.Namespace
) -> list[dict[str, Any]]:
    """The measured runs for one delivery, one after another."""
    rows = []
    for run in runs:
        if run == "project":
            warehouse = work / "warehouse"
            shutil.rmtree(warehouse, ignore_errors=True)
            for stage in ("ingest", "link"):
                command = _job(stage, delivery, warehouse, *_set(args.project_set))
                result = measure(command, work / "logs" / f"project-{stage}.log")
                rows.append(
                    {
                        "individuals": size,
                        "run": f"project {stage}",
                        **result,
                        "delivery": str(delivery),
                        "output": str(warehouse),
                    }
                )
                if result["exit_code"] != 0:
                    break
            continue
        out = work / run
        shutil.rmtree(out, ignore_errors=True)
        command = [
            sys.executable,
            str(HERE / "splink_baseline.py"),
            "--backend",
            run,
            "--delivery",
            str(delivery),
            "--out",
            str(out),
        ]
        if run == "spark":
            command += ["--driver-memory", args.spark_driver_memory]
        result = measure(command, work / "logs" / f"{run}.log")
        figures = out / "figures.json"
        steps = json.loads(figures.read_text())["steps"] if figures.exists() else {}
        rows.append(
            {
                "individuals": size,
                "run": f"splink {run}",
                **result,
                "steps": steps,
                "delivery": str(delivery),
                "output": str(out),
            }
        )
    return rows


def _overall(records) -> dict[str, Any]:
    """Overall pairwise precision, recall and F1 of (pred, truth) per record."""
    from linkage.evaluate import pairwise_metrics

    row = pairwise_metrics(records, "keseluruhan", None, same_only=True).first()
    return {k: row[k] for k in ("presisi", "recall", "f1", "pasangan_prediksi", "pasangan_benar")}


def _baseline_comparisons(records_path: Path) -> int:
    """Pairs the baseline's blocking rules produce on its records, counted exactly."""
    import duckdb
    from splink import DuckDBAPI
    from splink.blocking_analysis import count_comparisons_from_blocking_rules
    from splink_baseline import blocking_rules

    con = duckdb.connect()
    db_api = DuckDBAPI(connection=con)
    counts = count_comparisons_from_blocking_rules(
        db_api.register(con.read_parquet(str(records_path)), dataset_display_name="records"),
        blocking_rules=blocking_rules(),
        link_type="dedupe_only",
        record_sample_proportion=1.0,
    )
    return int(counts[-1]["cumulative_comparison_count"])


def score(rows: list[dict[str, Any]]) -> None:
    """Add comparisons and person / family F1 to every successful row, in place."""
    from pyspark.sql import functions as F

    from dtsen.config import load_config
    from dtsen.io.delivery import read_truth
    from dtsen.session import build_session
    from dtsen.storage import Storage
    from linkage.evaluate import scored_records

    spark = None
    for row in rows:
        if row["exit_code"] != 0 or row["run"] == "project ingest" or "person" in row:
            continue
        delivery, out = row["delivery"], Path(row["output"])
        cfg = load_config(ROOT / "conf" / "local.yaml", input_dir=delivery, warehouse=str(out))
        spark = spark or build_session(cfg)
        truth = {e: read_truth(spark, delivery, e) for e in ("individu", "keluarga")}
        if row["run"] == "project link":
            storage = Storage(spark, str(out), cfg.storage.engine)
            entities = (
                ("individu", ["sumber", "id_record"], "person_id"),
                ("keluarga", ["sumber", "id_keluarga"], "family_id"),
            )
            records = [
                scored_records(
                    storage.read(f"gold/link_{e}", record=False),
                    storage.read(f"gold/{e}", record=False),
                    truth[e],
                    e,
                    keys,
                    tid,
                )
                for e, keys, tid in entities
            ]
            blocking = storage.read("gold/linkage_blocking", record=False)
            row["comparisons"] = blocking.agg(F.sum("comparisons")).first()[0]
        else:
            records = [
                spark.read.parquet(str(out / name))
                .join(truth[e], keys)
                .select(F.col("cluster_id").alias("pred"), F.col(tid).alias("truth"))
                for name, e, keys, tid in (
                    ("persons.parquet", "individu", ["sumber", "id_record"], "person_id"),
                    ("families.parquet", "keluarga", ["sumber", "id_keluarga"], "family_id"),
                )
            ]
            row["comparisons"] = _baseline_comparisons(out / "records.parquet")
        row["records"] = records[0].count()
        row["person"], row["family"] = _overall(records[0]), _overall(records[1])


def _f(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def markdown(rows: list[dict[str, Any]]) -> str:
    """One line per run and size: time, memory, comparisons, person and family P/R/F1."""
    lines = [
        "| individuals | run | records | comparisons | wall s | CPU s | peak GiB "
        "| person P / R / F1 | family P / R / F1 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(rows, key=lambda r: (r["individuals"], r["run"])):
        quality = [
            " / ".join(_f(r[e][k]) for k in ("presisi", "recall", "f1")) if e in r else "-"
            for e in ("person", "family")
        ]
        failed = "" if r["exit_code"] == 0 else f" (exit {r['exit_code']})"
        lines.append(
            f"| {r['individuals']:,} | {r['run']}{failed} | {r.get('records', 0):,} "
            f"| {r.get('comparisons', 0):,} | {r['wall_seconds']:,} | {r['cpu_seconds']:,} "
            f"| {r['peak_rss_gib']} | {quality[0]} | {quality[1]} |"
        )
    return "\n".join(lines)


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Wall time against individuals, log-log, one line per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for run in sorted({r["run"] for r in rows}):
        points = sorted(
            (r["individuals"], r["wall_seconds"])
            for r in rows
            if r["run"] == run and r["exit_code"] == 0
        )
        if points:
            ax.plot(*zip(*points, strict=True), marker="o", label=run)
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="individuals",
        ylabel="wall time (s)",
        title="Linkage wall time against size (2 cores)",
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _individuals(delivery: Path) -> int:
    """Persons in a given delivery: Dukcapil's distinct true persons."""
    import duckdb

    folder = delivery / "_truth" / "individu"
    files = f"{folder}/**/*.parquet" if folder.is_dir() else f"{folder}.parquet"
    with duckdb.connect() as con:
        query = (
            f"select count(distinct person_id) from read_parquet('{files}') "
            "where sumber = 'dukcapil'"
        )
        return con.execute(query).fetchone()[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sizes = parser.add_mutually_exclusive_group(required=True)
    sizes.add_argument("--individuals", type=int, nargs="+", help="generate these sizes")
    sizes.add_argument("--delivery", type=Path, help="take this delivery (with _truth/)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/dtsen-side-by-side"))
    parser.add_argument("--runs", default=",".join(RUNS), help="comma-separated: " + ",".join(RUNS))
    parser.add_argument("--results", type=Path, default=HERE / "side_by_side.json")
    parser.add_argument("--spark-driver-memory", default="8g")
    parser.add_argument(
        "--project-set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a --set for jobs.ingest and jobs.link, e.g. spark.driver_memory=12g",
    )
    args = parser.parse_args()
    runs = args.runs.split(",")
    if unknown := set(runs) - set(RUNS):
        parser.error(f"unknown runs {sorted(unknown)}; expected some of {list(RUNS)}")
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")

    rows = []
    if args.delivery:
        size = _individuals(args.delivery)
        rows += run_all(size, args.delivery, args.work / f"{size}", runs, args)
    for n in args.individuals or []:
        rows += run_all(n, generate(n, args.work / f"{n}"), args.work / f"{n}", runs, args)
    score(rows)

    kept = json.loads(args.results.read_text()) if args.results.exists() else []
    new = {(r["individuals"], r["run"]) for r in rows}
    merged = [r for r in kept if (r["individuals"], r["run"]) not in new] + rows
    args.results.write_text(json.dumps(merged, indent=2) + "\n", encoding="utf-8")
    table = markdown(merged)
    args.results.with_suffix(".md").write_text(table + "\n", encoding="utf-8")
    plot(merged, args.results.with_suffix(".png"))
    print(table)
    return 0 if all(r["exit_code"] == 0 for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
