"""The living register measured: a first period, then one quarterly update, side by side.

    python benchmarks/update.py --individuals 1000000 --work /tmp/dtsen-update-bench

Generates a synthetic delivery and its next quarter (``jobs.generate``), runs the first
period (ingest, link, train_pmt, rank, allocate) and then the update (``jobs.update``,
rank, allocate), each stage under ``benchmarks/measure.py`` (wall time and peak memory,
appended to ``results.jsonl``). Then scores the update against both truths: the share of
the previous period's source records that kept their person ID, and the precision and
recall with which the update's records of registered persons attached to their ID
(``linkage.evaluate.attachment``). Prints one JSON object and a Markdown table; the
figure that matters is the update's link time as a share of the first period's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).with_name("results.jsonl")
UPDATE_LINKAGE = ("new records and the Dukcapil diff", "scoring", "resolution")
"""The update's steps (``linkage.update.apply_update``) that are its linkage."""


def _stage(label: str, job: str, work: Path, delivery: Path, *extra: str) -> dict:
    command = [
        sys.executable,
        "-m",
        f"jobs.{job}",
        "--conf",
        "conf/local.yaml",
        "--input",
        str(delivery),
        "--warehouse",
        str(work / "warehouse"),
        *extra,
    ]
    printed = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "measure.py"), "--label", label, "--", *command],
        cwd=ROOT,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    print(printed, end="")
    return {**json.loads(RESULTS.read_text().splitlines()[-1]), "steps": _steps(printed)}


def _steps(printed: str) -> dict[str, float]:
    """The seconds per step of a stage's summary line (``dtsen.progress.format_steps``)."""
    line = next((x for x in printed.splitlines() if x.startswith("steps: ")), "steps: ")
    parts = (p.rsplit(" ", 2) for p in line.removeprefix("steps: ").split(", ") if p)
    return {name: float(seconds) for name, seconds, _ in parts}


def _scores(work: Path, first: Path, update: Path, version_before: int) -> dict:
    from pyspark.sql import functions as F

    from dtsen.config import load_config
    from dtsen.io.delivery import read_truth
    from dtsen.session import build_session
    from dtsen.storage import Storage
    from linkage.evaluate import attachment

    cfg = load_config(ROOT / "conf" / "local.yaml", warehouse=str(work / "warehouse"))
    spark = build_session(cfg)
    storage = Storage(spark, str(work / "warehouse"), cfg.storage.engine)
    before = storage.read("gold/link_individu", version_before, record=False)
    after = storage.read("gold/link_individu", record=False)
    old = before.select("sumber", "id_record", F.col("dtsen_individu_id").alias("_old"))
    kept = (
        old.join(after, ["sumber", "id_record"])
        .where(F.col("_old") == F.col("dtsen_individu_id"))
        .count()
    )
    figures = attachment(
        before,
        read_truth(spark, str(first), "individu"),
        read_truth(spark, str(update), "individu"),
        after,
    )
    return {**figures, "id_tetap": kept / old.count(), "rekaman_sebelumnya": old.count()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--individuals", type=int, default=60_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/dtsen-update-bench"))
    args = parser.parse_args()
    work, n = args.work, args.individuals
    first, update = work / "delivery", work / "update"
    tag = f"{n / 1000:g}k"
    _stage(
        f"generate-{tag}",
        "generate",
        work,
        first,
        "--individuals",
        str(n),
        "--set",
        f"generate.update_output={update}",
    )
    runs = {"ingest": _stage(f"ingest-{tag}", "ingest", work, first)}
    runs["link"] = _stage(f"link-{tag}", "link", work, first)
    _stage(f"train-{tag}", "train_pmt", work, first, "--unless-champion")
    _stage(f"rank-{tag}", "rank", work, first)
    _stage(f"allocate-{tag}", "allocate", work, first)
    from deltalake import DeltaTable

    version_before = DeltaTable(str(work / "warehouse" / "gold" / "link_individu")).version()
    periode = (update / "periode.txt").read_text().strip()
    runs["update"] = _stage(f"update-{tag}", "update", work, update)
    on_period = ("--set", f"ranking.periode={periode}")
    runs["rank_update"] = _stage(f"rank-update-{tag}", "rank", work, update, *on_period)
    runs["allocate_update"] = _stage(f"allocate-update-{tag}", "allocate", work, update, *on_period)
    scores = _scores(work, first, update, version_before)
    linkage = sum(runs["update"]["steps"].get(step, 0.0) for step in UPDATE_LINKAGE)
    out = {
        "individuals": n,
        "seconds": {k: v["wall_seconds"] for k, v in runs.items()},
        "peak_rss_gib": {k: v["peak_rss_gib"] for k, v in runs.items()},
        "update_share_of_link": runs["update"]["wall_seconds"] / runs["link"]["wall_seconds"],
        # The update's linkage (its steps up to resolved IDs) against the whole link stage.
        "update_linkage_seconds": linkage,
        "update_linkage_share_of_link": linkage / runs["link"]["wall_seconds"],
        "steps": {k: v["steps"] for k, v in runs.items() if v["steps"]},
        **scores,
    }
    print(json.dumps(out, indent=2))
    print("| stage | seconds | peak GiB |\n|---|---|---|")
    for name, run in runs.items():
        print(f"| {name} | {run['wall_seconds']} | {run['peak_rss_gib']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
