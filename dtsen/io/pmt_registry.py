"""MLflow for the PMT: the experiment, the registered model and its ``champion`` alias.

The job layer owns this (MLflow is I/O); ``ranking/`` never imports mlflow. Every run's
model is registered as a new version (the version number is taken from the
registration result, never by scanning the registry); the ``champion`` alias moves to
it only when it beats both the current champion and the run's WLS baseline on the
configured holdout metric (``ranking.promotion``); a first run whose XGBoost does not
beat WLS registers the WLS pyfunc and makes it champion.
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
from ranking.promotion import BASELINE, CHALLENGER, Decision, decide
from ranking.scoring import WLS, XGBOOST
from ranking.survey import FULL
from ranking.trainers import LinearPmt
from ranking.training import CANDIDATES, FittedPmt

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


def _wls_pyfunc() -> Any:
    """The WLS baseline as an MLflow pyfunc (predicts from its JSON artifact ``wls``)."""
    import mlflow.pyfunc

    class WlsPmt(mlflow.pyfunc.PythonModel):
        def load_context(self, context: Any) -> None:
            self.model = LinearPmt.from_json(Path(context.artifacts["wls"]).read_text())

        def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
            return self.model.predict(model_input)

    return WlsPmt()


def log_run(
    cfg: Config,
    spec: FeatureSpec,
    fitted: FittedPmt,
    metrics: dict[str, float],
    tables: dict[str, pd.DataFrame],
    provenance: dict[str, Any],
) -> tuple[str, str]:
    """Log one training run and register its challenger; returns (run id, model version).

    The parent run holds params, every candidate's metrics (``""`` tuned XGBoost,
    ``default_``, ``wls_``), the tables as CSV artifacts, the tuned model (registered)
    and the WLS model (pyfunc ``wls_model``, registered only if it becomes champion).
    Each candidate also gets a child run with its own settings and unprefixed metrics,
    so the MLflow UI compares them side by side.

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
        **{f"tuned.{k}": v for k, v in fitted.tuning.params.as_dict().items()},
        "tuning.grid": _pairs({k: str(v) for k, v in pmt.tuning.grid.items()}),
        "tuning.folds": pmt.tuning.folds,
        "tuning.monotone": _pairs(pmt.tuning.monotone),
        "seed": pmt.seed,
        "feature_spec": spec.name,
        "feature_spec_hash": spec.fingerprint,
        "features": len(columns),
        "missing_patterns": _pairs(pmt.missing_patterns),
        "relasi_mix": _pairs(pmt.relasi_mix),
        "holdout_fraction": pmt.holdout_fraction,
        "evaluation_folds": pmt.evaluation_folds,
        "evaluation_repeats": pmt.evaluation_repeats,
        "survey_date": pmt.survey_date,
        **provenance,
        "households_train": fitted.households_train,
        "households_holdout": len(full),
    }
    quantiles = full[columns].astype(float).quantile([0.1, 0.3, 0.5, 0.7, 0.9])
    example = quantiles.reset_index(drop=True)
    metadata = {"feature_spec": spec.raw, "feature_spec_hash": spec.fingerprint}
    with mlflow.start_run() as run:
        mlflow.log_params(params)
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if pd.notna(v)})
        mlflow.log_dict(spec.raw, "feature_spec.yaml")
        mlflow.log_figure(importance_figure(fitted.booster), "feature_importance.png")
        mlflow.log_figure(prediction_figure(full), "predicted_vs_observed.png")
        with tempfile.TemporaryDirectory() as tmp:
            for name, table in {**tables, "tuning_cv.csv": fitted.tuning.table}.items():
                table.to_csv(Path(tmp, name), index=False)
                mlflow.log_artifact(str(Path(tmp, name)))
            Path(tmp, "wls.json").write_text(fitted.baseline.to_json())
            wls_info = mlflow.pyfunc.log_model(
                name="wls_model",
                python_model=_wls_pyfunc(),
                artifacts={"wls": str(Path(tmp, "wls.json"))},
                signature=infer_signature(example, fitted.baseline.predict(example)),
                input_example=example,
                metadata={**metadata, "pmt_kind": WLS},
            )
        info = mlflow.xgboost.log_model(
            fitted.booster,
            name="model",
            signature=infer_signature(example, fitted.booster.inplace_predict(example)),
            input_example=example,
            registered_model_name=cfg.mlflow.registered_model,
            metadata={**metadata, "pmt_kind": XGBOOST},
        )
        version = str(info.registered_model_version)
        mlflow.MlflowClient().set_model_version_tag(
            cfg.mlflow.registered_model, version, "kind", XGBOOST
        )
        # The WLS model's own URI: registered from it if it becomes champion.
        mlflow.set_tags({"model_version": version, "wls_model_uri": wls_info.model_uri})
        for candidate, prefix in CANDIDATES.items():
            with mlflow.start_run(run_name=candidate, nested=True):
                mlflow.set_tags({"candidate": candidate, "parent_version": version})
                if candidate == "xgb":
                    mlflow.log_params(fitted.tuning.params.as_dict())
                elif candidate == "xgb_default":
                    mlflow.log_params(pmt.hyperparameters.as_dict())
                mlflow.log_metrics(
                    {
                        k[len(prefix) :]: float(v)
                        for k, v in metrics.items()
                        if pd.notna(v) and _of_candidate(k, prefix)
                    }
                )
    return run.info.run_id, version


def _of_candidate(metric: str, prefix: str) -> bool:
    """Whether ``metric`` belongs to the candidate with ``prefix`` ("" is the tuned one)."""
    if prefix:
        return metric.startswith(prefix)
    return not any(metric.startswith(p) for p in CANDIDATES.values() if p)


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
    """The run's metrics (every candidate's, prefixed as in ``CANDIDATES``)."""
    kind: str = XGBOOST

    @property
    def model_uri(self) -> str:
        """The exact version (not the alias), as recorded on every scored row."""
        return f"models:/{self.name}/{self.version}"

    def value(self, metric: str) -> float:
        """The champion's own holdout value of ``metric`` (WLS champions: ``wls_``)."""
        prefix = "wls_" if self.kind == WLS else ""
        return self.metrics.get(prefix + metric, float("nan"))


def champion(client: Any, name: str) -> Champion | None:
    """The version the ``champion`` alias points at, with its run's metrics; None if none."""
    from mlflow.exceptions import MlflowException

    try:
        version = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None
    metrics = client.get_run(version.run_id).data.metrics
    kind = (version.tags or {}).get("kind", XGBOOST)
    return Champion(name, str(version.version), version.run_id, metrics, kind)


def promote(
    client: Any,
    name: str,
    run_id: str,
    version: str,
    metrics: dict[str, float],
    metric: str,
    margin: float,
) -> tuple[Decision, str | None, Champion | None]:
    """Apply ``ranking.promotion.decide`` and move the alias accordingly.

    Returns the decision, the version that is champion afterwards, and the champion the
    run was compared with (None: there was none). When the baseline wins, the run's WLS
    pyfunc is registered as a new version (its number from the registration result).
    """
    import mlflow

    if metric not in metrics or f"wls_{metric}" not in metrics:
        raise ValueError(f"pmt.promotion_metric: {metric!r} is not a logged metric")
    incumbent = champion(client, name)
    decision = decide(
        metric,
        metrics[metric],
        metrics[f"wls_{metric}"],
        incumbent.value(metric) if incumbent else None,
        margin,
    )
    target = incumbent.version if incumbent else None
    if decision.champion == CHALLENGER:
        target = version
    elif decision.champion == BASELINE:
        wls_uri = client.get_run(run_id).data.tags["wls_model_uri"]
        registered = mlflow.register_model(wls_uri, name)
        target = str(registered.version)
        client.set_model_version_tag(name, target, "kind", WLS)
    if target is not None and (incumbent is None or target != incumbent.version):
        client.set_registered_model_alias(name, CHAMPION, target)
    log.info("champion: version %s (%s)", target, decision.reason)
    return decision, target, incumbent


def runs_table(client: Any, experiment: str, metrics: tuple[str, ...]) -> pd.DataFrame:
    """One row per training run of the experiment (newest first): trainer, version,
    promotion, and each metric for the tuned XGBoost, the default one (``default_``)
    and the WLS baseline (``wls_``)."""
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return pd.DataFrame()
    rows = []
    runs = client.search_runs([found.experiment_id], order_by=["attributes.start_time DESC"])
    # Parent runs only: a candidate's child run repeats its parent's metrics.
    for run in (r for r in runs if "candidate" not in r.data.tags):
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
                **{f"default_{name}": m.get(f"default_{name}") for name in metrics},
                **{f"wls_{name}": m.get(f"wls_{name}") for name in metrics},
                "train_seconds": m.get("train_seconds"),
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class ScoringModel:
    """A registered PMT ready to score: its exact version URI, kind, bytes and spec."""

    uri: str
    kind: str
    """``xgboost`` (payload: the booster's UBJSON) or ``wls`` (payload: its JSON)."""
    payload: bytes
    spec: FeatureSpec


def load_scoring_model(client: Any, uri: str) -> ScoringModel:
    """Load the model ``uri`` names; an alias (``models:/name@alias``) becomes its version.

    Whichever kind the champion is (XGBoost or the WLS pyfunc), the scorer gets the
    model's bytes to broadcast. The feature spec comes from the model's own metadata,
    not from ``conf/``: features must be built exactly as they were at training.
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
    kind = (info.metadata or {}).get("pmt_kind", XGBOOST)
    spec = FeatureSpec.from_dict(raw_spec, resolved)
    if kind == WLS:
        with tempfile.TemporaryDirectory() as tmp:
            local = mlflow.artifacts.download_artifacts(artifact_uri=resolved, dst_path=tmp)
            payload = next(Path(local).rglob("wls.json")).read_bytes()
        return ScoringModel(resolved, WLS, payload, spec)
    booster = mlflow.xgboost.load_model(resolved)
    return ScoringModel(resolved, XGBOOST, bytes(booster.save_raw("ubj")), spec)


def baseline_of(client: Any, model_uri: str) -> str | None:
    """The WLS baseline trained in the same run as ``model_uri`` (``models:/name/version``),
    or None when that version is itself the baseline: the linear PMT the champion had to
    beat, to be compared with it over the register as on the holdout."""
    name, version = model_uri.removeprefix("models:/").split("/", 1)
    found = client.get_model_version(name, version)
    if (found.tags or {}).get("kind") == WLS:
        return None
    return client.get_run(found.run_id).data.tags.get("wls_model_uri")


def log_register_evaluation(client: Any, model_uri: str, rows: list[dict[str, Any]]) -> str:
    """Log the register's targeting errors to the training run of ``model_uri``'s version.

    Metrics ``register_<peringkat>_<relasi>_<metric>`` (e.g.
    ``register_desil_SEMUA_exclusion_error_40``), so the run that made the champion shows
    how its ranking did over the whole register, next to its holdout figures. Returns
    the run id. Rows carry counts and rates only, no family data.
    """
    name, version = model_uri.removeprefix("models:/").split("/", 1)
    run_id = client.get_model_version(name, version).run_id
    for row in rows:
        for metric, value in row.items():
            if metric.endswith(("_40", "_50")) and value is not None:
                key = f"register_{row['peringkat']}_{row['relasi']}_{metric}"
                client.log_metric(run_id, key, float(value))
    return run_id
