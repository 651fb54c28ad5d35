"""Score every family with the PMT booster, on the executors.

Why ``mapInPandas`` with a broadcast booster: the register has tens of millions of
families, so predictions must run where the features are; the serialised booster (a
few MB) is broadcast once and loaded once per task, and Arrow moves the feature
batches. Nothing but the model bytes passes through the driver.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pandas as pd
from pyspark.sql import DataFrame

from ranking.features import KEY, FeatureSpec, build_features, golden_inputs


def predict(
    features: DataFrame, model: bytes, columns: list[str], output: str = "skor_model"
) -> DataFrame:
    """``kunci`` and ``output`` (the booster's prediction) for every row of ``features``.

    Args:
        features: ``kunci`` and ``columns`` (nulls are missing values, as in training).
        model: the booster serialised with ``Booster.save_raw()``.
        columns: the model's input columns, in its order.
        output: name of the prediction column.
    """
    shared = features.sparkSession.sparkContext.broadcast(bytes(model))

    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        import xgboost

        # One thread per task: Spark already runs one task per core.
        booster = xgboost.Booster(params={"nthread": 1}, model_file=bytearray(shared.value))
        for batch in batches:
            values = booster.inplace_predict(batch[columns].astype("float64"))
            yield pd.DataFrame({KEY: batch[KEY], output: values.astype("float64")})

    return features.select(KEY, *columns).mapInPandas(score, f"{KEY} string, {output} double")


def family_scores(
    keluarga: DataFrame, individu: DataFrame, model: bytes, spec: FeatureSpec, reference_date: date
) -> DataFrame:
    """``dtsen_keluarga_id`` and ``skor`` (the PMT's prediction) of every golden family.

    Args:
        keluarga, individu: ``gold/keluarga`` and ``gold/individu``.
        model, spec: the booster bytes and the feature spec it was trained with.
        reference_date: members' ages are taken at it (the period's first day).
    """
    features = build_features(*golden_inputs(keluarga, individu), spec, reference_date)
    return predict(features, model, spec.columns, "skor").withColumnRenamed(
        KEY, "dtsen_keluarga_id"
    )
