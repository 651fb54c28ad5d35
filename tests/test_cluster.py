"""ingest and link on a real Spark standalone cluster, against a local run; an executor
killed in the middle of link.

One cluster (a master and two one-core workers on 127.0.0.1, from the installed
pyspark) serves the whole module. The jobs go through ``./spark-submit.sh`` exactly as
an operator submits them, on the suite's small delivery; the local run to compare with
is the suite's ``linked_warehouse`` (same delivery, same settings, ``local[2]``).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame
from standalone import HOST, Cluster, standalone_cluster

from dtsen.storage import Storage

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "spark-submit.sh"
LINK_TABLES = ("link_individu", "link_keluarga")
# The settings of the suite's session (tests/conftest.py), so both runs compute alike.
JOB_SETTINGS = [
    "--set",
    "spark.shuffle_partitions=2",
    "--set",
    "spark.extra={spark.ui.enabled: 'false', spark.sql.adaptive.enabled: 'true',"
    " spark.default.parallelism: '2'}",
]
MIDDLE_OF_LINK = "link: deterministic pass done"
"""The progress line link logs after reading and standardising, before Splink trains and scores."""


def submit_env(cluster: Cluster) -> dict[str, str]:
    """spark-submit.sh's settings for the cluster: two one-core executors, one per worker."""
    return {
        **os.environ,
        "SPARK_MASTER": cluster.master_url,
        "SPARK_LOCAL_IP": HOST,
        "EXECUTOR_MEMORY": "1g",
        "DRIVER_MEMORY": "2g",
        "SPARK_SUBMIT_EXTRA": (
            f"--conf spark.driver.host={HOST} --conf spark.driver.bindAddress={HOST}"
            " --conf spark.cores.max=2 --conf spark.executor.cores=1"
        ),
    }


def start(job: str, cluster: Cluster, delivery: Path, warehouse: Path, log: Path):
    """``./spark-submit.sh <job>`` on the cluster, its output going to ``log``."""
    with log.open("w") as out:
        return subprocess.Popen(
            [str(SCRIPT), job, "--input", str(delivery), "--warehouse", str(warehouse),
             *JOB_SETTINGS],
            cwd=ROOT,
            env=submit_env(cluster),
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip


def finish(process: subprocess.Popen, log: Path, timeout: float = 1800) -> str:
    """Wait for a submitted job; fail with the end of its output unless it succeeded."""
    process.wait(timeout=timeout)
    output = log.read_text(errors="replace")
    assert process.returncode == 0, output[-4000:]
    return output


def wait_for_line(log: Path, text: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text(errors="replace"):
        assert process.poll() is None, log.read_text(errors="replace")[-4000:]
        assert time.monotonic() < deadline, f"no {text!r} within {timeout} s"
        time.sleep(0.5)


def id_columns(df: DataFrame) -> DataFrame:
    """The identifying columns of a link table: source, record and DTSEN ids."""
    keep = [c for c in df.columns if c == "sumber" or c.endswith("_id") or c.startswith("id_")]
    return df.select(*sorted(keep))


def assert_same_ids(actual: DataFrame, expected: DataFrame) -> None:
    """Equal ID columns (all columns, for tables without any, such as gold/relasi)."""
    if id_columns(expected).columns:
        actual, expected = id_columns(actual), id_columns(expected)
    # Row order of a stored table is not part of its contract; every value is.
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    with standalone_cluster(tmp_path_factory.mktemp("standalone")) as running:
        yield running
    # Stopped: no JVM of the cluster is left.
    assert all(p.poll() is not None for p in running.processes)


@pytest.fixture(scope="module")
def cluster_runs(cluster: Cluster, small_delivery: Path, tmp_path_factory, spark):
    """ingest, link, then link again with worker 0's executor killed in the middle.

    Returns the warehouse's Storage, the gold versions after each link, and what the
    kill saw: the killed pid and its replacement.
    """
    folder = tmp_path_factory.mktemp("cluster_run")
    warehouse = folder / "warehouse"
    timings = {}
    for job in ("ingest", "link"):
        began = time.monotonic()
        log = folder / f"{job}.log"
        finish(start(job, cluster, small_delivery, warehouse, log), log)
        timings[job] = round(time.monotonic() - began, 1)
    storage = Storage(spark, str(warehouse))
    first = {t: storage.version(f"gold/{t}") for t in (*LINK_TABLES, "relasi")}

    log = folder / "link-killed.log"
    began = time.monotonic()
    process = start("link", cluster, small_delivery, warehouse, log)
    wait_for_line(log, MIDDLE_OF_LINK, process, timeout=1200)
    victim = cluster.wait_for_executor(0, timeout=60)
    cluster.kill_executor(victim)
    killed_at = round(time.monotonic() - began, 1)
    replacement = cluster.wait_for_executor(0, timeout=300, exclude=(victim,))
    output = finish(process, log)
    timings["link_with_kill"] = round(time.monotonic() - began, 1)
    second = {t: storage.version(f"gold/{t}") for t in first}
    print(f"cluster start {cluster.startup_seconds} s, jobs {timings}, kill at {killed_at} s")
    return {
        "storage": storage,
        "first": first,
        "second": second,
        "victim": victim,
        "replacement": replacement,
        "output": output,
    }


@pytest.mark.parametrize("table", LINK_TABLES)
def test_cluster_link_gives_the_local_runs_ids(cluster_runs, linked_warehouse, table) -> None:
    _, local, _ = linked_warehouse
    storage = cluster_runs["storage"]
    version = cluster_runs["first"][table]

    assert_same_ids(storage.read(f"gold/{table}", version), local.read(f"gold/{table}"))


def test_cluster_link_gives_the_local_runs_relasi(cluster_runs, linked_warehouse) -> None:
    _, local, figures = linked_warehouse
    storage = cluster_runs["storage"]
    relasi = storage.read("gold/relasi", cluster_runs["first"]["relasi"])

    assert_df_equality(relasi, local.read("gold/relasi"), ignore_row_order=True)

    def by_relasi(rows: list[dict]) -> list[dict]:
        return sorted(rows, key=lambda r: r["relasi"])

    assert by_relasi([r.asDict() for r in relasi.collect()]) == by_relasi(figures["relasi"])


def test_cluster_ran_on_both_workers_and_replaced_the_killed_executor(cluster_runs) -> None:
    assert cluster_runs["replacement"] != cluster_runs["victim"]
    # The driver saw the executor die and carried on.
    assert "Lost executor" in cluster_runs["output"]


@pytest.mark.parametrize("table", [*LINK_TABLES, "relasi"])
def test_link_survives_a_killed_executor_with_identical_outputs(cluster_runs, table) -> None:
    storage = cluster_runs["storage"]
    first, second = cluster_runs["first"][table], cluster_runs["second"][table]
    assert second == first + 1

    assert_same_ids(storage.read(f"gold/{table}", second), storage.read(f"gold/{table}", first))
