"""Train the proxy means test on the Susenas sample, log it to MLflow, promote if better.

    python -m jobs.train_pmt [--input DIR] [--warehouse DIR] [--conf FILE] [--set k=v]
                             [--unless-champion]

Reads the newest ingested batch of ``bronze/susenas_keluarga`` and
``bronze/susenas_individu``; builds the features of ``pmt.features``; trains three
candidates on the same rows: XGBoost tuned by grouped cross-validation (``pmt.tuning``:
folds of whole provinces, early stopping, regularisation, monotone constraints), XGBoost
with ``pmt.hyperparameters`` (``pmt.trainer``: single-node ``xgboost`` or
``xgboost-spark``) and the weighted least squares baseline; evaluates all three on a
province-stratified holdout (as observed, and masked to each ``relasi`` pattern); logs
everything to the MLflow experiment (one parent run, a child run per candidate);
registers the tuned model as a new version of ``mlflow.registered_model`` and moves its
``champion`` alias only if it beats both the champion and the run's WLS by
``pmt.min_improvement`` on ``pmt.promotion_metric`` (a first run that does not beat WLS
registers the WLS pyfunc as champion; the run's tags say why). Prints the champion's
holdout and cross-validated metrics next to the other candidates'.
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
from dtsen.io.pmt_registry import champion, connect, log_run, promote, tag_run
from dtsen.storage import Storage
from dtsen.storage.bronze import latest_batch, read_bronze
from ranking.evaluation import cross_validated_metrics, format_comparison, holdout_metrics
from ranking.promotion import CHALLENGER
from ranking.survey import training_frame
from ranking.training import fit_pmt, tuning_plan

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
    tn = pmt.tuning
    plan = tuning_plan(
        tn.grid,
        pmt.hyperparameters,
        tn.reg_lambda,
        tn.max_rounds,
        tn.folds,
        tn.early_stopping_rounds,
        tn.monotone,
    )
    fitted = fit_pmt(
        data,
        spec.columns,
        pmt.trainer,
        pmt.hyperparameters,
        plan,
        pmt.seed,
        pmt.spark_workers,
        pmt.evaluation_folds,
        pmt.evaluation_repeats,
    )
    data.unpersist()
    metrics, by_relasi, by_province = holdout_metrics(fitted.holdout, pmt.relasi_mix)
    metrics.update(cross_validated_metrics(fitted.cross_validated, pmt.relasi_mix))
    metrics.update(
        train_seconds=fitted.xgb_seconds,
        default_train_seconds=fitted.default_seconds,
        wls_train_seconds=fitted.wls_seconds,
    )
    tables = {
        "metrics_by_province.csv": by_province,
        "metrics_by_relasi.csv": by_relasi,
        "wls_coefficients.csv": fitted.baseline.table(),
    }
    read = ("bronze/susenas_keluarga", "bronze/susenas_individu")
    provenance = {"batch": batch, **{f"delta.{t}": storage.version(t) for t in read}}
    run_id, version = log_run(cfg, spec, fitted, metrics, tables, provenance)
    decision, now, previous = promote(
        client, name, run_id, version, metrics, pmt.promotion_metric, pmt.min_improvement
    )
    promoted = decision.champion == CHALLENGER
    tags = {"promoted": str(promoted), "champion_kind": decision.champion}
    tag_run(run_id, {**tags, "champion_version": str(now), "promotion_reason": decision.reason})
    log.info("run %s registered as version %s: %s", run_id, version, decision.reason)
    return {
        "run_id": run_id,
        "version": version,
        "promoted": promoted,
        "decision": decision,
        "champion_version": now,
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
