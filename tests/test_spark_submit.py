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
DELTA_PACKAGE = "io.delta:delta-spark_4.1_2.13:4.4.0"
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
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in _SETTINGS and not k.startswith(("DTSEN_", "MLFLOW_"))
    }
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
        tmp_path,
        "generate",
        "--individuals",
        "300",
        "--input",
        "deliv",
        "--set",
        "a=b c",
        DTSEN_DELTA_JARS="",
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
        DTSEN_DELTA_JARS="",
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


def test_shipped_wheel_holds_the_packages_and_their_data(tmp_path: Path) -> None:
    dry_run(tmp_path, "ingest")
    names = set(zipfile.ZipFile(ZIP).namelist())
    assert {
        "jobs/ingest.py",
        "dtsen/config.py",
        "dtsen-0.1.0.dist-info/METADATA",
        "linkage/__init__.py",
        "ranking/__init__.py",
        "conf/local.yaml",
        "conf/sources/contract.yaml",
        "conf/reference/provinces.csv",
    } <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_cached_delta_jars_are_used_unless_told_otherwise(tmp_path: Path) -> None:
    cache = ROOT / ".cache" / "delta-jars"
    if not any(cache.glob("*.jar")):
        pytest.skip(f"no JARs in {cache} (make jars)")
    words = dry_run(tmp_path, "ingest", SPARK_MASTER="yarn")
    jars = option(words, "--jars")[0].split(",")
    assert f"{cache}/delta-spark_4.1_2.13-4.4.0.jar" in jars
    assert "--packages" not in words
    assert set(DELTA_CONFS) <= set(option(words, "--conf"))


def test_standalone_cluster_mode_is_refused(tmp_path: Path) -> None:
    result = submit(tmp_path, "--dry-run", "ingest", SPARK_MASTER="spark://h:7077",
                    DEPLOY_MODE="cluster")  # fmt: skip
    assert result.returncode == 2
    assert "DEPLOY_MODE=cluster is not possible on a standalone master" in result.stderr
    assert result.stdout == ""


def test_standalone_client_mode_names_the_interpreter(tmp_path: Path) -> None:
    words = dry_run(tmp_path, "ingest", SPARK_MASTER="spark://h:7077")
    python = ROOT / ".venv" / "bin" / "python"
    assert f"spark.pyspark.python={python}" in option(words, "--conf")
    assert not [w for w in option(words, "--conf") if "Env." in w]


PROJECT_ENV = {
    "DTSEN_WAREHOUSE": "hdfs:///dtsen/warehouse",
    "DTSEN_ID_SALT": "not-a-real-secret-0123456789",
    "MLFLOW_TRACKING_URI": "http://mlflow:5000",
    "UNRELATED": "stays-here",
}
REDACTION = "spark.redaction.regex=(?i)secret|password|token|access[.]?key|salt"


@pytest.mark.parametrize(
    ("master", "prefix"),
    [
        ("yarn", "spark.yarn.appMasterEnv."),
        ("k8s://https://k8s:443", "spark.kubernetes.driverEnv."),
    ],
)
def test_cluster_mode_forwards_the_project_environment_to_the_driver(
    tmp_path: Path, master: str, prefix: str
) -> None:
    result = submit(
        tmp_path,
        "--dry-run",
        "ingest",
        SPARK_MASTER=master,
        DEPLOY_MODE="cluster",
        DTSEN_DELTA_JARS="/x/a.jar",
        **PROJECT_ENV,
    )
    assert result.returncode == 0, result.stderr
    words = shlex.split(result.stdout)
    forwarded = [w for w in option(words, "--conf") if "Env." in w or w.startswith("spark.red")]
    assert forwarded == [
        f"{prefix}DTSEN_ID_SALT=<redacted>",
        f"{prefix}DTSEN_WAREHOUSE=hdfs:///dtsen/warehouse",
        f"{prefix}MLFLOW_TRACKING_URI=http://mlflow:5000",
        REDACTION,
    ]
    assert PROJECT_ENV["DTSEN_ID_SALT"] not in result.stdout + result.stderr


def test_client_mode_forwards_nothing(tmp_path: Path) -> None:
    words = dry_run(tmp_path, "ingest", SPARK_MASTER="yarn", **PROJECT_ENV)
    assert not [w for w in option(words, "--conf") if "Env." in w]


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
    # The seeded 300-person delivery: 249 Regsosek members, none with a structural fault.
    assert tuple(map(int, row[1:4])) == (249, 249, 0)
    assert (warehouse / "bronze" / "regsosek_individu" / "_delta_log").is_dir()
