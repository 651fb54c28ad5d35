"""MLflow for the PMT: the experiment, the registered model and its ``champion`` alias.

The job layer owns this (MLflow is I/O); ``ranking/`` never imports mlflow. Every run's
model is registered as a new version (the version number is taken from the
registration result, never by scanning the registry); the ``champion`` alias moves to
it only when it beats the current champion on the configured holdout metric.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from dtsen.config import Config
from dtsen.errors import BadConfigError
from dtsen.io.pmt_figures import importance_figure, prediction_figure
from ranking.features import FeatureSpec
from ranking.metrics import better
from ranking.survey import FULL
from ranking.training import FittedPmt

log = logging.getLogger("dtsen.pmt")

CHAMPION = "champion"


def connect(cfg: Config) -> Any:
    """Point MLflow at the configured store and experiment; return an ``MlflowClient``.

    A new experiment gets ``cfg.mlflow_artifact_location``, so the default SQLite store
    keeps its artifacts inside the warehouse instead of the working directory.
    """
    import mlflow

    mlflow.set_tracking_uri(cfg.tracking_uri)
    mlflow.set_registry_uri(cfg.tracking_uri)
    client = mlflow.MlflowClient()
    if client.get_experiment_by_name(cfg.mlflow.experiment) is None:
        client.create_experiment(
            cfg.mlflow.experiment, artifact_location=cfg.mlflow_artifact_location
        )
    mlflow.set_experiment(cfg.mlflow.experiment)
    return client


def _pairs(mapping: dict[str, float]) -> str:
    return ",".join(f"{k}:{v}" for k, v in sorted(mapping.items()))


def log_run(
    cfg: Config,
    spec: FeatureSpec,
    fitted: FittedPmt,
    metrics: dict[str, float],
    tables: dict[str, pd.DataFrame],
    provenance: dict[str, Any],
) -> tuple[str, str]:
    """Log one training run and register its model; returns (run id, model version).

    Params: the trainer and its hyperparameters, the seed, the feature spec's name and
    hash, the masking patterns and relasi mix, the holdout share, the counts, and
    ``provenance`` (the batch and Delta versions of the tables read). ``tables`` are
    logged as CSV artifacts.

    The input example is each feature's 10th, 30th, 50th, 70th and 90th percentile over
    the holdout, taken column by column: no row of it is a surveyed household, because
    MLflow artifacts leave the warehouse and must hold no one's data.
    """
    import mlflow
    from mlflow.models import infer_signature

    columns, pmt = spec.columns, cfg.pmt
    full = fitted.holdout[fitted.holdout["relasi"] == FULL]
    params = {
        "trainer": fitted.trainer,
        **{f"xgb.{k}": v for k, v in pmt.hyperparameters.as_dict().items()},
        "seed": pmt.seed,
        "feature_spec": spec.name,
        "feature_spec_hash": spec.fingerprint,
        "features": len(columns),
        "missing_patterns": _pairs(pmt.missing_patterns),
        "relasi_mix": _pairs(pmt.relasi_mix),
        "holdout_fraction": pmt.holdout_fraction,
        "survey_date": pmt.survey_date,
        **provenance,
        "households_train": fitted.households_train,
        "households_holdout": len(full),
    }
    with mlflow.start_run() as run:
        mlflow.log_params(params)
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if pd.notna(v)})
        mlflow.log_dict(spec.raw, "feature_spec.yaml")
        mlflow.log_figure(importance_figure(fitted.booster), "feature_importance.png")
        mlflow.log_figure(prediction_figure(full), "predicted_vs_observed.png")
        with tempfile.TemporaryDirectory() as tmp:
            for name, table in tables.items():
                table.to_csv(Path(tmp, name), index=False)
                mlflow.log_artifact(str(Path(tmp, name)))
        quantiles = full[columns].astype(float).quantile([0.1, 0.3, 0.5, 0.7, 0.9])
        example = quantiles.reset_index(drop=True)
        info = mlflow.xgboost.log_model(
            fitted.booster,
            name="model",
            signature=infer_signature(example, fitted.booster.inplace_predict(example)),
            input_example=example,
            registered_model_name=cfg.mlflow.registered_model,
            metadata={"feature_spec": spec.raw, "feature_spec_hash": spec.fingerprint},
        )
        version = str(info.registered_model_version)
        mlflow.set_tags({"model_version": version})
    return run.info.run_id, version


def tag_run(run_id: str, tags: dict[str, str]) -> None:
    """Add tags to a finished run (e.g. whether its model was promoted)."""
    import mlflow

    client = mlflow.MlflowClient()
    for key, value in tags.items():
        client.set_tag(run_id, key, value)


@dataclass(frozen=True)
class Champion:
    name: str
    version: str
    run_id: str
    metrics: dict[str, float]

    @property
    def model_uri(self) -> str:
        """The exact version (not the alias), as recorded on every scored row."""
        return f"models:/{self.name}/{self.version}"


def champion(client: Any, name: str) -> Champion | None:
    """The version the ``champion`` alias points at, with its run's metrics; None if none."""
    from mlflow.exceptions import MlflowException

    try:
        version = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None
    metrics = client.get_run(version.run_id).data.metrics
    return Champion(name, str(version.version), version.run_id, metrics)


def promote_if_better(
    client: Any, name: str, version: str, metrics: dict[str, float], metric: str, margin: float
) -> tuple[bool, Champion | None]:
    """Move ``champion`` to ``version`` if it beats the current champion on ``metric``.

    Returns whether it moved, and the champion it was compared with (None: there was
    none, and the first registered version becomes champion).
    """
    if metric not in metrics:
        raise ValueError(f"pmt.promotion_metric: {metric!r} is not a logged metric")
    incumbent = champion(client, name)
    incumbent_value = incumbent.metrics.get(metric, float("nan")) if incumbent else float("nan")
    if incumbent is None or better(metric, metrics[metric], incumbent_value, margin):
        client.set_registered_model_alias(name, CHAMPION, version)
        log.info("champion -> version %s (%s %.4f)", version, metric, metrics[metric])
        return True, incumbent
    log.info(
        "champion stays version %s: %s %.4f vs new %.4f",
        incumbent.version,
        metric,
        incumbent_value,
        metrics[metric],
    )
    return False, incumbent


def runs_table(client: Any, experiment: str, metrics: tuple[str, ...]) -> pd.DataFrame:
    """One row per run of the experiment (newest first): trainer, version, promotion,
    and each metric for XGBoost and the WLS baseline (``wls_`` columns)."""
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return pd.DataFrame()
    rows = []
    for run in client.search_runs([found.experiment_id], order_by=["attributes.start_time DESC"]):
        m, p, t = run.data.metrics, run.data.params, run.data.tags
        rows.append(
            {
                "run_id": run.info.run_id,
                "mulai": pd.Timestamp(run.info.start_time, unit="ms"),
                "trainer": p.get("trainer"),
                "feature_spec_hash": p.get("feature_spec_hash"),
                "versi": t.get("model_version"),
                "promoted": t.get("promoted") == "True",
                **{name: m.get(name) for name in metrics},
                **{f"wls_{name}": m.get(f"wls_{name}") for name in metrics},
                "train_seconds": m.get("train_seconds"),
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class ScoringModel:
    """A registered PMT ready to score: its exact version URI, booster bytes and spec."""

    uri: str
    booster: bytes
    spec: FeatureSpec


def load_scoring_model(client: Any, uri: str) -> ScoringModel:
    """Load the model ``uri`` names; an alias (``models:/name@alias``) becomes its version.

    The feature spec comes from the model's own metadata, not from ``conf/``: features
    must be built exactly as they were when the model was trained.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    resolved = uri
    if uri.startswith("models:/") and "@" in uri:
        name, alias = uri.removeprefix("models:/").split("@", 1)
        try:
            version = client.get_model_version_by_alias(name, alias)
        except MlflowException as exc:
            raise BadConfigError(
                f"ranking.model_uri: {uri} does not resolve ({exc.message}); "
                "train a model first (python -m jobs.train_pmt)"
            ) from exc
        resolved = f"models:/{name}/{version.version}"
    info = mlflow.models.get_model_info(resolved)
    raw_spec = (info.metadata or {}).get("feature_spec")
    if raw_spec is None:
        raise BadConfigError(f"ranking.model_uri: {resolved} carries no feature_spec metadata")
    booster = mlflow.xgboost.load_model(resolved)
    return ScoringModel(
        resolved, bytes(booster.save_raw("ubj")), FeatureSpec.from_dict(raw_spec, resolved)
    )
