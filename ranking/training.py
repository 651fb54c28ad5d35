"""Fit the PMT candidates on the same survey rows, predict the holdout with each.

Takes the labelled frame of ``ranking.survey`` (every household under every relasi
pattern, with ``holdout`` flags) and returns what evaluation and logging need; the
caller persists that frame first so the features are built once, outside the timings.
Three candidates: the tuned XGBoost (grouped cross-validation, early stopping,
regularisation and monotone constraints; the challenger), the default XGBoost
(``pmt.hyperparameters``, as before tuning existed) and weighted least squares.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ranking.features import KEY
from ranking.survey import FULL
from ranking.trainers import LABEL, WEIGHT, LinearPmt, XgbParams, trainer
from ranking.tuning import TuningResult, fit_booster, grouped_folds, monotone_constraints, tune

if TYPE_CHECKING:
    import xgboost

CANDIDATES = {"xgb": "", "xgb_default": "default_", "wls": "wls_"}
"""Holdout prediction column -> metric prefix of each candidate."""


@dataclass(frozen=True)
class TuningPlan:
    """How the tuned candidate is searched for (``pmt.tuning`` as typed parameters)."""

    grid: dict[str, list[float]]
    base: XgbParams
    folds: int
    early_stopping_rounds: int
    monotone: dict[str, int]


@dataclass(frozen=True)
class FittedPmt:
    """The candidates fitted on the same rows, with the holdout scored by each."""

    trainer: str
    booster: xgboost.Booster
    """The tuned XGBoost: the challenger."""
    default_booster: xgboost.Booster
    baseline: LinearPmt
    holdout: pd.DataFrame
    """Holdout households x patterns, with ``xgb``, ``xgb_default`` and ``wls``."""
    tuning: TuningResult
    monotone: tuple[int, ...]
    households_train: int
    xgb_seconds: float
    default_seconds: float
    wls_seconds: float


def fit_pmt(
    data: DataFrame,
    columns: list[str],
    trainer_name: str,
    params: XgbParams,
    plan: TuningPlan,
    seed: int,
    spark_workers: int,
) -> FittedPmt:
    """Train the three candidates; XGBoost on every training pattern, WLS on the survey
    as observed.

    WLS sees only fully observed rows: mean imputation of a masked copy would teach it
    nothing, which is the classic PMT's situation (and why the relasi breakdown matters).
    The training rows are a survey sample, collected once for tuning and WLS. They are
    sorted by key and pattern first: XGBoost's row subsampling draws by row position, so
    the order Spark happens to return rows in would otherwise change the model.
    """
    train_rows = data.where(~F.col("holdout") & (F.col(WEIGHT) > 0)).orderBy(KEY, "relasi")
    fitter = trainer(trainer_name, params, seed, spark_workers)
    tick = time.monotonic()
    default_booster = fitter.fit(train_rows, columns)
    default_seconds = time.monotonic() - tick
    local = train_rows.select(*columns, LABEL, WEIGHT, "relasi", "kode_wilayah").toPandas()
    tick = time.monotonic()
    monotone = monotone_constraints(columns, plan.monotone)
    folds = grouped_folds(local["kode_wilayah"].str[:2], local[WEIGHT], plan.folds, seed)
    tuning = tune(
        local, columns, plan.grid, plan.base, folds, monotone, plan.early_stopping_rounds, seed
    )
    booster = fit_booster(local, columns, tuning.params, monotone, seed)
    xgb_seconds = time.monotonic() - tick
    surveyed = local[local["relasi"] == FULL]
    tick = time.monotonic()
    baseline = LinearPmt.fit(surveyed, columns)
    wls_seconds = time.monotonic() - tick
    # A survey holdout (x 7 relasi masks) is small; copy() defragments the wide frame.
    holdout = data.where("holdout").drop("holdout").orderBy(KEY, "relasi").toPandas().copy()
    values = holdout[columns].astype(float)
    holdout["xgb"] = booster.inplace_predict(values)
    holdout["xgb_default"] = default_booster.inplace_predict(values)
    holdout["wls"] = baseline.predict(holdout)
    return FittedPmt(
        fitter.name,
        booster,
        default_booster,
        baseline,
        holdout,
        tuning,
        monotone,
        len(surveyed),
        xgb_seconds,
        default_seconds,
        wls_seconds,
    )


def tuning_plan(
    grid: dict[str, list[float]],
    hyperparameters: XgbParams,
    reg_lambda: float,
    max_rounds: int,
    folds: int,
    early_stopping_rounds: int,
    monotone: dict[str, int],
) -> TuningPlan:
    """The plan from config values: the grid varies around the default hyperparameters."""
    base = replace(hyperparameters, reg_lambda=reg_lambda, n_estimators=max_rounds)
    return TuningPlan(grid, base, folds, early_stopping_rounds, monotone)
