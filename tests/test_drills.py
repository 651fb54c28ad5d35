"""Fault drills on the local engine: a driver SIGKILLed during a gold write, and
re-running a stage on the same inputs.

(Two writers on one table are drilled in tests/test_storage.py on both engines, an
executor killed in the middle of link in tests/test_cluster.py.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from chispa import assert_approx_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import MapType

from dtsen.storage import Storage
from jobs.ingest import run as ingest
from jobs.link import run as link

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
LINK_OUTPUTS = (
    "link_individu",
    "review_pasangan",
    "link_keluarga",
    "individu",
    "keluarga",
    "relasi",
    "linkage_blocking",
)


def frozen(spark: SparkSession, df: DataFrame) -> DataFrame:
    """``df``'s rows now, held in memory: later changes to the table cannot alter them."""
    return spark.createDataFrame(df.collect(), df.schema)


def tables(storage: Storage, layer: str) -> list[str]:
    return sorted(f"{layer}/{p.name}" for p in Path(storage.root, layer).iterdir())


def data_files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*.parquet") if "_delta_log" not in p.parts}


def sortable(df: DataFrame) -> DataFrame:
    """``df`` with each map column as its sorted entries: Spark cannot sort rows by a map."""
    maps = [f.name for f in df.schema.fields if isinstance(f.dataType, MapType)]
    return df.withColumns({c: F.array_sort(F.map_entries(c)) for c in maps})


def assert_rows(actual: DataFrame, expected: DataFrame) -> None:
    # Storage order is not part of a table's contract; every row and value is. Splink's
    # EM sums in task order, so a re-run's match weights agree to about 1e-13, not bit
    # for bit: floats are compared to 1e-9, IDs and every other value exactly.
    assert_approx_df_equality(
        sortable(actual),
        sortable(expected),
        precision=1e-9,
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_driver_killed_during_a_gold_write(spark, linked_warehouse, isolate, tmp_path) -> None:
    cfg, storage = isolate(linked_warehouse[0])
    # The tables link writes (gold/evaluasi_linkage, also in the warehouse, is not one).
    gold = [f"gold/{t}" for t in LINK_OUTPUTS]
    before = {t: (storage.version(t), frozen(spark, storage.read(t))) for t in gold}
    files = {t: data_files(Path(storage.path(t))) for t in gold}

    log = tmp_path / "link.log"
    with log.open("w") as out:
        driver = subprocess.Popen(
            [sys.executable, "-m", "jobs.link", "--input", cfg.input, "--warehouse",
             storage.root, "--set", "spark.shuffle_partitions=2", "--set",
             "spark.driver_memory=4g"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    staged: dict[str, set[Path]] = {}
    deadline = time.monotonic() + 1500
    while not staged:
        assert driver.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, "no gold write began"
        for table in gold:
            new = data_files(Path(storage.path(table))) - files[table]
            if new:
                staged[table] = new
        time.sleep(0.05)
    os.killpg(driver.pid, signal.SIGKILL)  # the driver and its JVM, mid-write
    assert driver.wait(timeout=60) == -signal.SIGKILL
    (killed,) = staged

    # The table being written keeps its version and rows; its staged files stay unseen.
    assert storage.version(killed) == before[killed][0]
    for table in gold:
        assert storage.version(table) in (before[table][0], before[table][0] + 1), table
        assert_rows(storage.read(table), before[table][1])
    left = storage.remove_orphans(killed, timedelta(0), dry_run=True)
    assert left, "the killed write left no staged files"

    # The next run succeeds and (same inputs) writes the same rows.
    link(spark, cfg, storage)
    for table in gold:
        assert storage.version(table) > before[table][0], table
        assert_rows(storage.read(table), before[table][1])

    # The documented cleanup removes the staged files, and only them.
    cleanup = subprocess.run(
        [sys.executable, "-m", "dtsen.storage.cleanup", "--warehouse", storage.root,
         "--older-than-hours", "0"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert cleanup.returncode == 0, cleanup.stderr[-3000:]
    lines = dict(line.split("\t") for line in cleanup.stdout.splitlines())
    assert lines[killed] == f"removed {len(left)} files"
    assert not [p for p in staged[killed] if p.exists()]
    for table in gold:
        assert storage.remove_orphans(table, timedelta(0), dry_run=True) == [], table
        assert_rows(storage.read(table), before[table][1])
        assert_rows(storage.read(table, before[table][0]), before[table][1])


def test_rerunning_ingest_gives_identical_bronze_tables(spark, small_warehouse, isolate) -> None:
    cfg, storage = isolate(small_warehouse[0])
    bronze = tables(storage, "bronze")
    before = {t: storage.version(t) for t in bronze}

    ingest(spark, cfg, storage)

    for table in bronze:
        assert storage.version(table) == before[table] + 1, table
        assert_rows(storage.read(table), storage.read(table, before[table]))
