"""Train the proxy means test on the Susenas sample, log it to MLflow, promote if better.

    python -m jobs.train_pmt [--input DIR] [--warehouse DIR] [--conf FILE] [--set k=v]
                             [--unless-champion]

Reads the newest ingested batch of ``bronze/susenas_keluarga`` and
``bronze/susenas_individu``; builds the features of ``pmt.features``; trains XGBoost
(``pmt.trainer``: single-node ``xgboost`` or ``xgboost-spark``) and the weighted least
squares baseline on the same rows; evaluates both on a province-stratified holdout
(as observed, and masked to each ``relasi`` pattern); logs everything to the MLflow
experiment; registers the model as a new version of ``mlflow.registered_model`` and
moves its ``champion`` alias only if the run beats the champion on
``pmt.promotion_metric``. Prints the champion's holdout metrics next to the baseline's.
With ``--unless-champion`` it trains only when there is no champion yet.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import SparkSession

from dtsen import cli
from dtsen.config import Config
from dtsen.io.pmt_registry import champion, connect, log_run, promote_if_better, tag_run
from dtsen.storage import Storage
from dtsen.storage.bronze import latest_batch, read_bronze
from ranking.evaluation import format_comparison, holdout_metrics
from ranking.survey import training_frame
from ranking.training import fit_pmt

log = logging.getLogger("dtsen.pmt")
FLAGS = [(("--unless-champion",), {"action": "store_true", "help": "train only if no champion"})]


def run(
    spark: SparkSession, cfg: Config, storage: Storage, unless_champion: bool = False
) -> dict[str, Any]:
    """Train, evaluate, log, register, maybe promote; returns the figures the job prints."""
    client, pmt, name = connect(cfg), cfg.pmt, cfg.mlflow.registered_model
    if unless_champion and champion(client, name):
        return {"champion": champion(client, name)}
    spec = cfg.feature_spec()
    batch = latest_batch(storage, cfg)
    data = training_frame(
        read_bronze(storage, "susenas_keluarga", batch),
        read_bronze(storage, "susenas_individu", batch),
        spec,
        date.fromisoformat(pmt.survey_date),
        pmt.missing_patterns,
        pmt.holdout_fraction,
        pmt.seed,
    ).persist(StorageLevel.MEMORY_AND_DISK)
    data.count()  # build the features once, outside the trainers' timings
    fitted = fit_pmt(
        data, spec.columns, pmt.trainer, pmt.hyperparameters, pmt.seed, pmt.spark_workers
    )
    data.unpersist()
    metrics, by_relasi, by_province = holdout_metrics(fitted.holdout, pmt.relasi_mix)
    metrics.update(train_seconds=fitted.xgb_seconds, wls_train_seconds=fitted.wls_seconds)
    tables = {
        "metrics_by_province.csv": by_province,
        "metrics_by_relasi.csv": by_relasi,
        "wls_coefficients.csv": fitted.baseline.table(),
    }
    read = ("bronze/susenas_keluarga", "bronze/susenas_individu")
    provenance = {"batch": batch, **{f"delta.{t}": storage.version(t) for t in read}}
    run_id, version = log_run(cfg, spec, fitted, metrics, tables, provenance)
    promoted, previous = promote_if_better(
        client, name, version, metrics, pmt.promotion_metric, pmt.min_improvement
    )
    tag_run(run_id, {"promoted": str(promoted)})
    log.info("run %s registered as version %s (promoted: %s)", run_id, version, promoted)
    return {
        "run_id": run_id,
        "version": version,
        "promoted": promoted,
        "previous": previous.version if previous else None,
        "metrics": metrics,
        "by_relasi": by_relasi,
        "champion": champion(client, name),
    }


def format_figures(figures: dict[str, Any]) -> str:
    current = figures["champion"]
    return format_comparison(current.model_uri, current.run_id, current.metrics)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    return cli.run_stage(argv, __doc__, run, format_figures, FLAGS)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
