"""Fit the PMT and its linear baseline on the same survey rows, predict the holdout.

Takes the labelled frame of ``ranking.survey`` (every household under every relasi
pattern, with ``holdout`` flags) and returns what evaluation and logging need; the
caller persists that frame first so the features are built once, outside the timings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ranking.survey import FULL
from ranking.trainers import LABEL, WEIGHT, LinearPmt, XgbParams, trainer

if TYPE_CHECKING:
    import xgboost


@dataclass(frozen=True)
class FittedPmt:
    """XGBoost and WLS fitted on the same rows, with the holdout scored by both."""

    trainer: str
    booster: xgboost.Booster
    baseline: LinearPmt
    holdout: pd.DataFrame
    """Holdout households x patterns, with ``xgb`` and ``wls`` predictions."""
    households_train: int
    xgb_seconds: float
    wls_seconds: float


def fit_pmt(
    data: DataFrame,
    columns: list[str],
    trainer_name: str,
    params: XgbParams,
    seed: int,
    spark_workers: int,
) -> FittedPmt:
    """Train XGBoost on every training pattern and WLS on the survey as observed.

    WLS sees only fully observed rows: mean imputation of a masked copy would teach it
    nothing, which is the classic PMT's situation (and why the relasi breakdown matters).
    """
    train_rows = data.where(~F.col("holdout") & (F.col(WEIGHT) > 0))
    fitter = trainer(trainer_name, params, seed, spark_workers)
    tick = time.monotonic()
    booster = fitter.fit(train_rows, columns)
    xgb_seconds = time.monotonic() - tick
    surveyed = train_rows.where(F.col("relasi") == FULL).select(*columns, LABEL, WEIGHT).toPandas()
    tick = time.monotonic()
    baseline = LinearPmt.fit(surveyed, columns)
    wls_seconds = time.monotonic() - tick
    # A survey holdout (x 7 relasi masks) is small; copy() defragments the wide frame.
    holdout = data.where("holdout").drop("holdout").toPandas().copy()
    holdout["xgb"] = booster.inplace_predict(holdout[columns].astype(float))
    holdout["wls"] = baseline.predict(holdout)
    return FittedPmt(
        fitter.name, booster, baseline, holdout, len(surveyed), xgb_seconds, wls_seconds
    )
