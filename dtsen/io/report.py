"""The run report's I/O: which versions a period is read at, MLflow figures, Splink's
artefacts, and the page written to ``<warehouse>/reports/<periode>/``.

Through :mod:`dtsen.io.files` (Hadoop's FileSystem), so the report lands next to the
warehouse wherever it is: a local folder, HDFS, S3 or ADLS.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pyspark.sql import SparkSession

from dtsen.config import Config
from dtsen.errors import StorageError
from dtsen.io.files import exists, read_text, remove, write_text
from dtsen.io.linkage_artefacts import saved_model
from dtsen.io.pmt_registry import connect
from dtsen.storage import Storage
from dtsen.storage.bronze import latest_batch
from dtsen.storage.manifest import COMPLETE, manifests
from dtsen.storage.periods import latest_periods
from ranking.scoring import WLS

log = logging.getLogger("dtsen.report")

SPLINK_CHARTS = ("match_weights", "m_u_parameters")
"""Splink's charts that describe the model only. The waterfall (pairs of real records,
even with the compared values removed) and the cluster sizes (a chart that loads Vega
from a CDN) are never copied."""


def report_dir(cfg: Config, periode: str) -> str:
    return f"{cfg.storage.root.rstrip('/')}/reports/{periode}"


@dataclass(frozen=True)
class Snapshot:
    """What a period's report reads: the ingest batch it was built from, and whether its
    tables are read as published now (the latest period) or pinned to an earlier run."""

    periode: str
    batch: str
    pinned: bool


def period_snapshot(storage: Storage, cfg: Config, periode: str) -> Snapshot:
    """Pin ``storage`` to the tables as they were when ``periode`` was finished.

    The latest ranked period reads the tables as published and the newest batch (or
    ``ingest.batch``). An earlier period's register (``gold/relasi``, the linkage
    evaluation) has since been overwritten by the update after it: its report reads every
    table at the version the newest complete run that finished by the period's last
    complete run left (``meta/runs``), and the batch that period's runs read.

    Raises:
        StorageError: ``periode`` is not the latest and no complete run recorded it.
    """
    if periode == latest_periods(storage, "gold/peringkat", 1)[0]:
        return Snapshot(periode, latest_batch(storage, cfg), pinned=False)
    runs = [m for m in manifests(storage) if m["status"] == COMPLETE]
    own = [m for m in runs if m["periode"] == periode]
    batches = [m["input_batch"] for m in own if m["input_batch"]]
    if not own or not batches:
        raise StorageError(
            f"meta/runs: no complete run of periode {periode} recorded its tables and batch; "
            "its report can only be written while it is the latest period"
        )
    until = own[-1]["finished_at"]
    pins: dict[str, int] = {}
    for m in runs:
        if m["finished_at"] <= until:
            pins.update(m["ditulis"] or {})
    storage.pin(pins)
    batch = cfg.ingest.batch or batches[-1]
    storage.note("input_batch", batch)
    return Snapshot(periode, batch, pinned=True)


def committed_at(storage: Storage, table: str) -> Any:
    """When the version of ``table`` a read returns now was committed."""
    version = storage.published_version(table)
    return next(c["timestamp"] for c in storage.history(table) if c["version"] == version)


def holdout_metrics(cfg: Config, model_uri: str) -> tuple[dict[str, float], bool]:
    """The training-run metrics of the exact model version ``model_uri``
    (``models:/name/version``) and whether that version is the WLS baseline itself.

    Returns ``({}, False)`` when the registry does not know the version (a model from
    another store): the page says so instead of failing the report.
    """
    from mlflow.exceptions import MlflowException

    client = connect(cfg)
    name, version = model_uri.removeprefix("models:/").split("/", 1)
    try:
        found = client.get_model_version(name, version)
    except MlflowException:
        log.warning("%s: not in the MLflow registry; no holdout figures", model_uri)
        return {}, False
    is_baseline = (found.tags or {}).get("kind") == WLS
    return dict(client.get_run(found.run_id).data.metrics), is_baseline


def splink_artefacts(spark: SparkSession, cfg: Config) -> tuple[dict[str, Any], dict[str, str]]:
    """The newest saved Splink model and those of its chart pages that stand alone.

    A chart page is kept only when it loads no script from elsewhere (Splink's charts are
    saved with Vega inlined): the report folder must open offline.
    """
    model = saved_model(spark, cfg) or {}
    root = cfg.linkage_model_dir.rstrip("/")
    charts: dict[str, str] = {}
    if not model:
        return model, charts
    version = read_text(spark, f"{root}/latest.txt").strip()
    for name in SPLINK_CHARTS:
        uri = f"{root}/{version}/{name}.html"
        if not exists(spark, uri):
            continue
        text = read_text(spark, uri)
        if '<script src="http' in text or "<script src='http" in text:
            log.warning("%s loads scripts from elsewhere: not copied into the report", uri)
            continue
        charts[f"splink_{name}.html"] = text
    return model, charts


def write_report(spark: SparkSession, cfg: Config, periode: str, files: dict[str, str]) -> str:
    """Write the page (``index.html``) and its companion files; returns the page's URI.

    The period's folder is replaced as a whole, so a companion a newer run no longer
    writes does not linger beside the page.
    """
    folder = report_dir(cfg, periode)
    remove(spark, folder)
    for name, text in sorted(files.items()):
        write_text(spark, f"{folder}/{name}", text)
    log.info("report of %s written to %s (%d files)", periode, folder, len(files))
    return f"{folder}/index.html"
