"""Fit the PMT candidates on the same survey rows, predict the holdout with each.

Takes the labelled frame of ``ranking.survey`` (every household under every relasi
pattern, with ``holdout`` flags) and returns what evaluation and logging need; the
caller persists that frame first so the features are built once, outside the timings.
Three candidates: the tuned XGBoost (grouped cross-validation, early stopping,
regularisation and monotone constraints; the challenger), the default XGBoost
(``pmt.hyperparameters``, as before tuning existed) and weighted least squares.
Besides the holdout, every training household is scored out of fold by each candidate
(:func:`cross_validated`), for metrics four times the holdout's size.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ranking.features import KEY
from ranking.survey import FULL
from ranking.trainers import LABEL, WEIGHT, LinearPmt, SingleNodeTrainer, XgbParams, trainer
from ranking.tuning import (
    TuningResult,
    fit_booster,
    grouped_folds,
    household_folds,
    monotone_constraints,
    tune,
)

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
    cross_validated: pd.DataFrame
    """Training households x patterns x repeats (``ulangan``), each scored by the
    candidates fitted without it."""
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
    evaluation_folds: int,
    evaluation_repeats: int,
) -> FittedPmt:
    """Train the three candidates; XGBoost on every training pattern, WLS on the survey
    as observed.

    WLS sees only fully observed rows: mean imputation of a masked copy would teach it
    nothing, which is the classic PMT's situation (and why the relasi breakdown matters).
    The training rows are a survey sample, collected once for tuning and WLS. They are
    sorted by key and pattern first: XGBoost's row subsampling draws by row position, so
    the order Spark happens to return rows in would otherwise change the model. Then
    the training households are scored out of fold (``evaluation_repeats`` times
    ``evaluation_folds`` household folds, :func:`cross_validated`) for the ``cv_``
    metrics.
    """
    train_rows = data.where(~F.col("holdout") & (F.col(WEIGHT) > 0)).orderBy(KEY, "relasi")
    fitter = trainer(trainer_name, params, seed, spark_workers)
    tick = time.monotonic()
    default_booster = fitter.fit(train_rows, columns)
    default_seconds = time.monotonic() - tick
    local = train_rows.select(KEY, *columns, LABEL, WEIGHT, "relasi", "kode_wilayah").toPandas()
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
    holdout = _households(data, holdout=True)
    values = holdout[columns].astype(float)
    holdout["xgb"] = booster.inplace_predict(values)
    holdout["xgb_default"] = default_booster.inplace_predict(values)
    holdout["wls"] = baseline.predict(holdout)
    scored = _households(data, holdout=False)
    folds_params = (tuning.params, params)
    cv = cross_validated(
        local, scored, columns, folds_params, monotone, evaluation_folds, evaluation_repeats, seed
    )
    return FittedPmt(
        fitter.name,
        booster,
        default_booster,
        baseline,
        holdout,
        cv,
        tuning,
        monotone,
        len(surveyed),
        xgb_seconds,
        default_seconds,
        wls_seconds,
    )


def _households(data: DataFrame, holdout: bool) -> pd.DataFrame:
    """The holdout's (or the training households') rows under every pattern, collected:
    survey-sized; copy() defragments the wide frame."""
    rows = data.where(F.col("holdout") if holdout else ~F.col("holdout")).drop("holdout")
    return rows.orderBy(KEY, "relasi").toPandas().copy()


def cross_validated(
    fitting: pd.DataFrame,
    scored: pd.DataFrame,
    columns: list[str],
    params: tuple[XgbParams, XgbParams],
    monotone: tuple[int, ...],
    folds: int,
    repeats: int,
    seed: int,
) -> pd.DataFrame:
    """``scored`` once per repeat (``ulangan`` 0..repeats-1), with each candidate's
    out-of-fold prediction (``xgb``, ``xgb_default``, ``wls``): every row predicted by the
    candidates fitted on the other folds' rows, each repeat with other folds.

    Why: promotion compares candidates a few pp apart, and a 20% holdout of a survey of a
    few thousand households measures that margin with a standard deviation of about
    1.5 pp (docs/pmt.md); scoring the other 80% too, out of fold, quarters the variance.
    Folds are households (:func:`ranking.tuning.household_folds`). Which split is drawn
    moves the margin too (by about 0.5 pp on the default survey: the candidates are
    refitted on other rows), hence repeats with other splits, whose metrics are averaged.
    The tuned candidate keeps the settings tuning chose on the same rows (with province
    folds, not these): a small optimism the holdout does not share. The default XGBoost
    is fitted on one node whichever ``pmt.trainer`` is set (the two trainers agree,
    ``ranking.trainers``).

    Args:
        fitting: the training rows as the candidates are fitted on (weight > 0), ``kunci``.
        scored: the rows to score (the training households under every pattern).
        params: the tuned and the default XGBoost settings.
    """
    values = scored[columns].astype(float)
    tuned, default = params
    repeated = []
    for repeat in range(repeats):
        fit_fold = household_folds(fitting[KEY], folds, seed + repeat).to_numpy()
        score_fold = household_folds(scored[KEY], folds, seed + repeat).to_numpy()
        out = {name: np.full(len(scored), np.nan) for name in CANDIDATES}
        for fold in range(folds):
            rows, held = fitting[fit_fold != fold], score_fold == fold
            if not held.any():
                continue
            booster = fit_booster(rows, columns, tuned, monotone, seed)
            out["xgb"][held] = booster.inplace_predict(values[held])
            single = SingleNodeTrainer(default, seed).fit_frame(rows, columns)
            out["xgb_default"][held] = single.inplace_predict(values[held])
            linear = LinearPmt.fit(rows[rows["relasi"] == FULL], columns)
            out["wls"][held] = linear.predict(scored[held])
        repeated.append(scored.assign(ulangan=repeat, **out))
    return pd.concat(repeated, ignore_index=True)


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
