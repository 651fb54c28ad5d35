"""spark-submit.sh: the command it builds (dry runs), the zip it ships, one real local run."""

from __future__ import annotations

import os
import shlex
import subprocess
import zipfile
from pathlib import Path

import pytest

from dtsen.session import splink_jar

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "spark-submit.sh"
ZIP = ROOT / "build" / "dtsen-py.zip"
DELTA_PACKAGE = "io.delta:delta-spark_4.1_2.13:4.4.1"
DELTA_CONFS = [
    "spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog",
]
_SETTINGS = (
    "SPARK_MASTER",
    "DEPLOY_MODE",
    "EXECUTOR_MEMORY",
    "EXECUTOR_CORES",
    "NUM_EXECUTORS",
    "DRIVER_MEMORY",
    "SPARK_SUBMIT_EXTRA",
    "DTSEN_DELTA_JARS",
    "DTSEN_DELTA_PACKAGES",
    "SPARK_HOME",
)


def submit(
    cwd: Path, *args: str, timeout: float = 60, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the script from ``cwd`` with only the given settings in its environment."""
    environ = {k: v for k, v in os.environ.items() if k not in _SETTINGS}
    environ.update(env)
    return subprocess.run(
        [str(SCRIPT), *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def dry_run(cwd: Path, *args: str, **env: str) -> list[str]:
    """The printed command, split back into words."""
    result = submit(cwd, "--dry-run", *args, **env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    return shlex.split(lines[0])


def option(words: list[str], flag: str) -> list[str]:
    """Every value given to ``flag``."""
    return [words[i + 1] for i, w in enumerate(words[:-1]) if w == flag]


def test_dry_run_local_generate(tmp_path: Path) -> None:
    words = dry_run(
        tmp_path, "generate", "--individuals", "300", "--input", "deliv", "--set", "a=b c"
    )
    assert option(words, "--master") == ["local[2]"]
    assert option(words, "--deploy-mode") == ["client"]
    assert option(words, "--name") == ["dtsen-generate"]
    assert option(words, "--py-files") == [str(ZIP)]
    assert option(words, "--jars") == [splink_jar()]
    assert "spark.sql.session.timeZone=UTC" in option(words, "--conf")
    python = str(ROOT / ".venv" / "bin" / "python")
    assert f"PYSPARK_PYTHON={python}" in words
    assert f"PYSPARK_DRIVER_PYTHON={python}" in words
    # Local master without Delta JARs: no packages (Maven may be unreachable), delta-rs.
    assert "--packages" not in words
    job = words.index(str(ROOT / "jobs" / "generate.py"))
    assert words[job + 1 :] == ["--individuals", "300", "--input", "deliv", "--set", "a=b c"]


def test_unknown_job_lists_the_jobs(tmp_path: Path) -> None:
    result = submit(tmp_path, "nope")
    assert result.returncode == 2
    assert "unknown job 'nope'" in result.stderr
    jobs_line = next(line for line in result.stderr.splitlines() if line.startswith("jobs:"))
    assert {"generate", "ingest"} <= set(jobs_line.split()[1:])
    assert not {"cli", "config", "session", "errors", "delivery"} & set(jobs_line.split())


def test_yarn_cluster_adds_delta_packages_sizing_and_ships_the_profile(tmp_path: Path) -> None:
    profile = ROOT / "conf" / "cluster.yaml"
    words = dry_run(
        tmp_path,
        "ingest",
        "--conf",
        str(profile),
        SPARK_MASTER="yarn",
        DEPLOY_MODE="cluster",
        EXECUTOR_MEMORY="8g",
        SPARK_SUBMIT_EXTRA="--conf spark.yarn.queue=dtsen",
    )
    assert option(words, "--master") == ["yarn"]
    assert option(words, "--deploy-mode") == ["cluster"]
    assert option(words, "--executor-memory") == ["8g"]
    assert "--executor-cores" not in words
    assert option(words, "--packages") == [DELTA_PACKAGE]
    assert set(DELTA_CONFS) <= set(option(words, "--conf"))
    assert "spark.yarn.queue=dtsen" in option(words, "--conf")
    assert not any(w.startswith("PYSPARK_PYTHON=") for w in words)
    # The profile travels with --files and the remote driver gets its basename.
    assert option(words, "--files") == [str(profile)]
    assert words[-2:] == ["--conf", "cluster.yaml"]


def test_delta_jars_replace_packages(tmp_path: Path) -> None:
    words = dry_run(tmp_path, "ingest", SPARK_MASTER="yarn", DTSEN_DELTA_JARS="/x/a.jar")
    assert option(words, "--jars") == [f"{splink_jar()},/x/a.jar"]
    assert "--packages" not in words
    assert set(DELTA_CONFS) <= set(option(words, "--conf"))


def test_zip_holds_the_packages_and_their_data(tmp_path: Path) -> None:
    dry_run(tmp_path, "ingest")
    names = set(zipfile.ZipFile(ZIP).namelist())
    assert {
        "jobs/ingest.py",
        "jobs/config.py",
        "linkage/__init__.py",
        "ranking/__init__.py",
        "conf/local.yaml",
        "conf/sources/contract.yaml",
        "conf/reference/provinces.csv",
    } <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


@pytest.mark.slow
def test_real_local_run_generates_and_ingests(tmp_path: Path) -> None:
    delivery, warehouse = tmp_path / "delivery", tmp_path / "warehouse"
    small = [
        "--set",
        "spark.shuffle_partitions=2",
        "--set",
        "spark.extra={spark.ui.enabled: 'false'}",
        "--input",
        str(delivery),
        "--warehouse",
        str(warehouse),
    ]
    generated = submit(
        tmp_path,
        "generate",
        "--individuals",
        "300",
        "--set",
        "generate.susenas_households=200",
        *small,
        timeout=600,
        SPARK_MASTER="local[2]",
    )
    assert generated.returncode == 0, generated.stderr[-3000:]
    ingested = submit(tmp_path, "ingest", *small, timeout=600, SPARK_MASTER="local[2]")
    assert ingested.returncode == 0, ingested.stderr[-3000:]
    table = [line.split() for line in ingested.stdout.splitlines()]
    row = next(r for r in table if r and r[0] == "regsosek_individu")
    read, accepted, quarantined = map(int, row[1:4])
    assert read > 0
    assert read == accepted + quarantined
    assert (warehouse / "bronze" / "regsosek_individu" / "_delta_log").is_dir()
