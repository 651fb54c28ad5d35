"""PMT trainers: XGBoost on one machine or on Spark, and the classic linear baseline.

Both XGBoost trainers take the same Spark DataFrame and the same hyperparameters and
return an ``xgboost.Booster``, so what is logged, registered and scored downstream does
not depend on where training ran. Single-node (the default) collects the training set:
it is a survey sample (Susenas: about 345,000 households a year), not the register.
``xgboost.spark`` trains across executors for samples that do not fit one machine;
with the same data and settings it grows equivalent trees (histogram sketches can
differ in the last digits, so predictions agree closely rather than bit for bit).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import pandas as pd
from pydantic import ConfigDict
from pydantic.dataclasses import dataclass as pydantic_dataclass
from pyspark.sql import DataFrame

if TYPE_CHECKING:
    import xgboost

LABEL = "y"
WEIGHT = "bobot_latih"


@pydantic_dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class XgbParams:
    """Hyperparameters in the scikit-learn names both XGBoost front ends accept.

    A validated (pydantic) dataclass, so ``pmt.hyperparameters`` in config is this type
    and a misspelt key fails when the config is loaded.
    """

    n_estimators: int = 400
    max_depth: int = 5
    learning_rate: float = 0.05
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    min_child_weight: float = 5.0
    reg_lambda: float = 1.0

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


class Trainer(Protocol):
    name: str

    def fit(self, train: DataFrame, columns: list[str]) -> xgboost.Booster:
        """Fit ``LABEL`` on ``columns`` weighted by ``WEIGHT``; nulls are missing values."""
        ...


@dataclass(frozen=True)
class SingleNodeTrainer:
    params: XgbParams
    seed: int = 42
    name: str = "xgboost"

    def fit(self, train: DataFrame, columns: list[str]) -> xgboost.Booster:
        return self.fit_frame(train.select(*columns, LABEL, WEIGHT).toPandas(), columns)

    def fit_frame(self, frame: pd.DataFrame, columns: list[str]) -> xgboost.Booster:
        """The same fit on rows already collected (the cross-validated metrics' folds)."""
        import xgboost

        model = xgboost.XGBRegressor(
            tree_method="hist", random_state=self.seed, **self.params.as_dict()
        )
        model.fit(frame[columns].astype(float), frame[LABEL], sample_weight=frame[WEIGHT])
        return model.get_booster()


@dataclass(frozen=True)
class SparkTrainer:
    params: XgbParams
    seed: int = 42
    num_workers: int = 2
    name: str = "xgboost-spark"

    def fit(self, train: DataFrame, columns: list[str]) -> xgboost.Booster:
        from xgboost.spark import SparkXGBRegressor

        estimator = SparkXGBRegressor(
            features_col=columns,
            label_col=LABEL,
            weight_col=WEIGHT,
            num_workers=self.num_workers,
            tree_method="hist",
            random_state=self.seed,
            missing=float("nan"),
            **self.params.as_dict(),
        )
        return estimator.fit(train.select(*columns, LABEL, WEIGHT)).get_booster()


@dataclass(frozen=True)
class LinearPmt:
    """Weighted least squares on the same features: the classic PMT regression.

    A linear model cannot skip a missing value, so each feature's missing values are
    replaced by its weighted training mean (the usual practice when a registry lacks a
    variable the survey has). Collinear one-hot blocks are handled by the minimum-norm
    least-squares solution, so no reference category has to be chosen.
    """

    columns: tuple[str, ...]
    means: np.ndarray
    coefficients: np.ndarray
    intercept: float

    @classmethod
    def fit(cls, frame: pd.DataFrame, columns: list[str]) -> LinearPmt:
        x = frame[columns].to_numpy(dtype=float)
        w = frame[WEIGHT].to_numpy(dtype=float)
        observed = ~np.isnan(x)
        weight_seen = (observed * w[:, None]).sum(axis=0)
        means = np.where(
            weight_seen > 0, np.nansum(x * w[:, None], axis=0) / np.maximum(weight_seen, 1e-12), 0.0
        )
        design = np.column_stack([np.ones(len(x)), np.where(observed, x, means)])
        root = np.sqrt(w)[:, None]
        solution, *_ = np.linalg.lstsq(
            design * root, frame[LABEL].to_numpy(dtype=float) * root[:, 0], rcond=None
        )
        return cls(tuple(columns), means, solution[1:], float(solution[0]))

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        x = frame[list(self.columns)].to_numpy(dtype=float)
        return self.intercept + np.where(np.isnan(x), self.means, x) @ self.coefficients

    def to_json(self) -> str:
        """The fitted model as JSON (registered with MLflow, broadcast for scoring)."""
        import json

        return json.dumps(
            {
                "columns": list(self.columns),
                "means": self.means.tolist(),
                "coefficients": self.coefficients.tolist(),
                "intercept": self.intercept,
            }
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> LinearPmt:
        import json

        raw = json.loads(text)
        return cls(
            tuple(raw["columns"]),
            np.asarray(raw["means"], dtype=float),
            np.asarray(raw["coefficients"], dtype=float),
            float(raw["intercept"]),
        )

    def contributions(self, frame: pd.DataFrame) -> np.ndarray:
        """Each feature's contribution to each prediction: coefficient x (value - mean),
        so a family at the training mean has none (the linear analogue of SHAP values)."""
        x = frame[list(self.columns)].to_numpy(dtype=float)
        return (np.where(np.isnan(x), self.means, x) - self.means) * self.coefficients

    def table(self) -> pd.DataFrame:
        """Coefficients and imputation means, per feature (for the run's artifacts)."""
        return pd.DataFrame(
            {
                "fitur": ["(intercept)", *self.columns],
                "koefisien": [self.intercept, *self.coefficients],
                "rata_rata_imputasi": [np.nan, *self.means],
            }
        )


def trainer(name: str, params: XgbParams, seed: int, num_workers: int) -> Trainer:
    """The trainer named in config (``pmt.trainer``)."""
    if name == "xgboost":
        return SingleNodeTrainer(params, seed)
    if name == "xgboost-spark":
        return SparkTrainer(params, seed, num_workers)
    raise ValueError(f"pmt.trainer: unknown trainer {name!r} (xgboost, xgboost-spark)")
