"""Run manifests (``meta/runs``): a stage is one unit.

Every stage run through ``dtsen.cli.run_stage`` appends one row when it ends: its run
id, stage, period, input batch, the Delta version of every table it read and wrote,
the model it scored with, the code version and ``COMPLETE`` or ``FAILED``. A later stage
reads each table at the version the newest ``COMPLETE`` manifest that wrote it pins,
not simply the newest version: if a stage dies between two of its writes, the tables it
did write are not published, and readers keep a consistent set. Re-running an old period
with ``--reproduce`` pins what that period's own manifest read, and its model.

The manifest is small (a row per run); it is collected to the driver whole.
"""

from __future__ import annotations

import logging
import os
import subprocess
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from pyspark.sql import types as T

from dtsen.errors import StorageError

log = logging.getLogger(__name__)

RUNS_TABLE = "meta/runs"
COMPLETE, FAILED = "COMPLETE", "FAILED"
SCHEMA = T.StructType(
    [
        T.StructField("run_id", T.StringType(), False),
        T.StructField("stage", T.StringType(), False),
        T.StructField("periode", T.StringType(), True),
        T.StructField("input_batch", T.StringType(), True),
        T.StructField("dibaca", T.MapType(T.StringType(), T.LongType()), True),
        T.StructField("ditulis", T.MapType(T.StringType(), T.LongType()), True),
        T.StructField("model_uri", T.StringType(), True),
        T.StructField("code_version", T.StringType(), True),
        T.StructField("status", T.StringType(), False),
        T.StructField("error", T.StringType(), True),
        T.StructField("started_at", T.TimestampType(), False),
        T.StructField("finished_at", T.TimestampType(), False),
    ]
)


def code_version() -> str:
    """The package version and, in a git checkout, the commit (``DTSEN_CODE_VERSION`` wins:
    set it where the code runs from a wheel or zip)."""
    if os.environ.get("DTSEN_CODE_VERSION"):
        return os.environ["DTSEN_CODE_VERSION"]
    try:
        version = metadata.version("dtsen")
    except metadata.PackageNotFoundError:
        version = "0+unknown"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return version
    return f"{version}+g{commit}"


@dataclass
class Run:
    """What one stage run read and wrote, collected by ``Storage`` as it goes."""

    stage: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    pins: dict[str, int] = field(default_factory=dict)
    """Table -> the version this run reads (unless it wrote the table itself)."""
    read: dict[str, int] = field(default_factory=dict)
    written: dict[str, int] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    """``periode``, ``input_batch``, ``model_uri``: set by the stage's helpers."""

    def row(self, status: str, error: str | None) -> tuple:
        return (
            self.run_id,
            self.stage,
            self.notes.get("periode"),
            self.notes.get("input_batch"),
            dict(self.read),
            dict(self.written),
            self.notes.get("model_uri"),
            code_version(),
            status,
            error,
            self.started_at,
            datetime.now(UTC),
        )


def manifests(storage) -> list[dict]:
    """Every manifest, oldest first (``[]`` before the first run)."""
    if not storage.exists(RUNS_TABLE):
        return []
    rows = storage.read(RUNS_TABLE, record=False).orderBy("finished_at", "run_id").collect()
    return [r.asDict() for r in rows]


def published_versions(storage) -> dict[str, int]:
    """Per table, the version its newest ``COMPLETE`` writer left: what readers see."""
    pins: dict[str, int] = {}
    for m in manifests(storage):
        if m["status"] == COMPLETE:
            pins.update(m["ditulis"] or {})
    return pins


def manifest_of(storage, stage: str, periode: str) -> dict:
    """The newest ``COMPLETE`` manifest of ``stage`` for ``periode``.

    Raises:
        StorageError: there is none (the period was never completed by that stage).
    """
    found = [
        m
        for m in manifests(storage)
        if m["stage"] == stage and m["periode"] == periode and m["status"] == COMPLETE
    ]
    if not found:
        raise StorageError(f"{RUNS_TABLE}: no complete {stage} run for periode {periode}")
    return found[-1]


def record(storage, run: Run, status: str, error: str | None = None) -> None:
    """Append ``run``'s manifest to ``meta/runs`` (one commit)."""
    frame = storage.spark.createDataFrame([run.row(status, error)], SCHEMA)
    mode = "append" if storage.exists(RUNS_TABLE) else "overwrite"
    storage.write(frame, RUNS_TABLE, mode, record=False)
    log.info("run %s (%s): %s, wrote %s", run.run_id, run.stage, status, run.written)
