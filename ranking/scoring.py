"""Score every family with the champion PMT, and explain its score, on the executors.

Why ``mapInPandas`` with a broadcast model: the register has tens of millions of
families, so predictions must run where the features are; the serialised model (an
XGBoost booster of a few MB, or the WLS coefficients as JSON) is broadcast once and
loaded once per task, and Arrow moves the feature batches. Nothing but the model bytes
passes through the driver. Whichever kind is champion, the same two functions score
and explain.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ranking.features import KEY, FeatureSpec, build_features, golden_inputs

XGBOOST, WLS = "xgboost", "wls"
"""Kinds of PMT the registry holds (``pmt_kind`` in the model's metadata)."""
FACTORS_SCHEMA = f"{KEY} string, rank int, feature string, contribution double"


def _load(kind: str, payload: bytes) -> tuple[Callable, Callable]:
    """(predict, contributions) of a model: frame -> values, frame -> (rows x features)."""
    if kind == WLS:
        from ranking.trainers import LinearPmt

        linear = LinearPmt.from_json(payload)
        return linear.predict, linear.contributions
    if kind != XGBOOST:
        raise ValueError(f"unknown PMT kind {kind!r} (expected {XGBOOST} or {WLS})")
    import xgboost

    # One thread per task: Spark already runs one task per core.
    booster = xgboost.Booster(params={"nthread": 1}, model_file=bytearray(payload))

    def contributions(frame: pd.DataFrame) -> np.ndarray:
        matrix = xgboost.DMatrix(frame, missing=np.nan)
        return booster.predict(matrix, pred_contribs=True)[:, :-1]  # last: the bias

    return booster.inplace_predict, contributions


def predict(
    features: DataFrame, kind: str, model: bytes, columns: list[str], output: str = "skor_model"
) -> DataFrame:
    """``kunci`` and ``output`` (the model's prediction) for every row of ``features``.

    Args:
        features: ``kunci`` and ``columns`` (nulls are missing values, as in training).
        kind: ``xgboost`` (``model`` = ``Booster.save_raw()``) or ``wls`` (its JSON).
        columns: the model's input columns, in its order.
        output: name of the prediction column.
    """
    shared = features.sparkSession.sparkContext.broadcast(bytes(model))

    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        predictor, _ = _load(kind, shared.value)
        for batch in batches:
            values = np.asarray(predictor(batch[columns].astype("float64")), dtype="float64")
            yield pd.DataFrame({KEY: batch[KEY], output: values})

    return features.select(KEY, *columns).mapInPandas(score, f"{KEY} string, {output} double")


def top_contributions(
    features: DataFrame, kind: str, model: bytes, columns: list[str], top: int
) -> DataFrame:
    """The ``top`` features that moved each family's score most: ``kunci``, ``rank``
    (1 = largest absolute contribution), ``feature``, ``contribution`` (log scale).

    XGBoost contributions are its exact per-tree attributions (``pred_contribs``, they
    sum with the bias to the prediction); WLS's are coefficient x (value - training
    mean). Ties in absolute size keep the model's column order (a stable sort), so the
    ranks are deterministic. Features with no contribution are left out.
    """
    shared = features.sparkSession.sparkContext.broadcast(bytes(model))

    def explain(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        _, contributions = _load(kind, shared.value)
        names = np.asarray(columns, dtype=object)
        for batch in batches:
            values = np.asarray(contributions(batch[columns].astype("float64")))
            order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :top]
            picked = np.take_along_axis(values, order, axis=1)
            frame = pd.DataFrame(
                {
                    KEY: np.repeat(batch[KEY].to_numpy(), order.shape[1]),
                    "rank": np.tile(np.arange(1, order.shape[1] + 1, dtype="int32"), len(batch)),
                    "feature": names[order.ravel()],
                    "contribution": picked.ravel().astype("float64"),
                }
            )
            yield frame[frame["contribution"] != 0.0]

    return features.select(KEY, *columns).mapInPandas(explain, FACTORS_SCHEMA)


def family_features(
    keluarga: DataFrame, individu: DataFrame, spec: FeatureSpec, reference_date: date
) -> DataFrame:
    """The PMT features of every golden family (``gold/keluarga``, ``gold/individu``);
    members' ages are taken at ``reference_date`` (the period's first day)."""
    return build_features(*golden_inputs(keluarga, individu), spec, reference_date)


def family_scores(features: DataFrame, kind: str, model: bytes, spec: FeatureSpec) -> DataFrame:
    """``dtsen_keluarga_id`` and ``skor`` (the PMT's prediction) of every golden family."""
    return predict(features, kind, model, spec.columns, "skor").withColumnRenamed(
        KEY, "dtsen_keluarga_id"
    )


def peringkat_faktor(
    features: DataFrame, kind: str, model: bytes, spec: FeatureSpec, top: int, periode: str
) -> DataFrame:
    """``gold/peringkat_faktor``: periode, dtsen_keluarga_id, rank, feature, contribution.

    Feature names and contributions only: no identifier but the family's DTSEN key.
    """
    return top_contributions(features, kind, model, spec.columns, top).select(
        F.lit(periode).alias("periode"),
        F.col(KEY).alias("dtsen_keluarga_id"),
        "rank",
        "feature",
        "contribution",
    )
