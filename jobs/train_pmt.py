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
import tempfile
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pyspark import StorageLevel
from pyspark.sql import functions as F

from jobs import cli
from jobs.config import Config
from jobs.errors import BadConfigError
from jobs.ingest import latest_batch, read_bronze
from jobs.pmt_artifacts import importance_figure, prediction_figure
from jobs.pmt_registry import Champion, champion, connect, promote_if_better
from jobs.session import build_session
from jobs.storage import Storage, open_storage
from ranking import metrics as M
from ranking.features import KEY, RELASI, FeatureSpec, FeatureSpecError, survey_inputs
from ranking.survey import FULL, holdout_flags, labelled
from ranking.trainers import WEIGHT, LinearPmt, trainer

log = logging.getLogger("dtsen.pmt")

HEADLINE = (
    "rmse",
    "r2",
    "spearman",
    "exclusion_error_40",
    "inclusion_error_40",
    "exclusion_error_50",
    "inclusion_error_50",
)


def load_feature_spec(cfg: Config) -> FeatureSpec:
    """The feature spec named by ``pmt.features`` (BadConfigError if malformed)."""
    source = cfg.resolve_conf_file(cfg.pmt.features)
    try:
        return FeatureSpec.from_dict(
            yaml.safe_load(source.read_text(encoding="utf-8")), str(source)
        )
    except (FeatureSpecError, yaml.YAMLError, AttributeError) as exc:
        raise BadConfigError(f"{source}: {exc}") from exc


def _holdout_metrics(
    holdout: pd.DataFrame, mix: dict[str, float]
) -> tuple[dict[str, float], pd.DataFrame, pd.DataFrame]:
    """Headline metrics, the per-relasi table and the per-province table.

    The headline ranks the holdout as the register would see it: every household once
    per relasi pattern (masked accordingly), weighted by that pattern's share of
    register families (``pmt.relasi_mix``). ``observed_*`` are the same metrics on the
    holdout as surveyed (every variable present).
    """
    unknown = sorted(set(mix) - set(RELASI))
    if unknown:
        raise BadConfigError(f"pmt.relasi_mix: unknown relasi {unknown}; expected {RELASI}")
    register = holdout.assign(bobot=holdout["bobot"] * holdout["relasi"].map(mix).fillna(0.0))
    register = register[register["bobot"] > 0]
    observed = holdout[holdout["relasi"] == FULL]
    headline: dict[str, float] = {}
    for model, prefix in (("xgb", ""), ("wls", "wls_")):
        for frame, scope in ((register, ""), (observed, "observed_")):
            scores = M.targeting(frame["y"], frame[model], frame["bobot"], frame["anggota"])
            headline.update({f"{prefix}{scope}{k}": v for k, v in scores.items()})
    by_relasi = pd.concat(
        [M.by_group(holdout, "relasi", model).assign(model=model) for model in ("xgb", "wls")]
    )
    by_province = M.by_group(
        register.assign(provinsi=register["kode_wilayah"].str[:2]), "provinsi", "xgb"
    )
    return headline, by_relasi, by_province


def _pairs(mapping: dict[str, float]) -> str:
    return ",".join(f"{k}:{v}" for k, v in sorted(mapping.items()))


def train(spark: Any, cfg: Config, storage: Storage) -> dict[str, Any]:
    """Train, evaluate, log, register, maybe promote; returns the figures the job prints."""
    import mlflow
    from mlflow.models import infer_signature

    started = time.monotonic()
    client = connect(cfg)
    spec = load_feature_spec(cfg)
    batch = latest_batch(storage, cfg)
    households = read_bronze(storage, "susenas_keluarga", batch)
    people = read_bronze(storage, "susenas_individu", batch)
    families, members = survey_inputs(households, people, spec)
    patterns = {r: cfg.pmt.missing_patterns.get(r, 0.0) for r in RELASI}
    data = (
        labelled(
            families,
            members,
            households.select(F.col("id_ruta").alias(KEY), "bobot", "pengeluaran_kapita"),
            spec,
            date.fromisoformat(cfg.pmt.survey_date),
            patterns,
        )
        .join(holdout_flags(families, cfg.pmt.holdout_fraction, cfg.pmt.seed), KEY)
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    data.count()  # build the features once, outside the trainers' timings
    columns = spec.columns
    train_rows = data.where(~F.col("holdout") & (F.col(WEIGHT) > 0))

    params = cfg.pmt.hyperparameters
    fitter = trainer(cfg.pmt.trainer, params, cfg.pmt.seed, cfg.pmt.spark_workers)
    tick = time.monotonic()
    booster = fitter.fit(train_rows, columns)
    xgb_seconds = time.monotonic() - tick
    surveyed = train_rows.where(F.col("relasi") == FULL).select(*columns, "y", WEIGHT).toPandas()
    tick = time.monotonic()
    baseline = LinearPmt.fit(surveyed, columns)
    wls_seconds = time.monotonic() - tick
    # A survey holdout (x 7 relasi masks) is small; copy() defragments the wide frame.
    holdout = data.where("holdout").drop("holdout").toPandas().copy()
    n_train = len(surveyed)
    data.unpersist()
    holdout["xgb"] = booster.inplace_predict(holdout[columns].astype(float))
    holdout["wls"] = baseline.predict(holdout)
    headline, by_relasi, by_province = _holdout_metrics(holdout, cfg.pmt.relasi_mix)
    for _, row in by_relasi.iterrows():
        for metric in ("spearman", "exclusion_error_40"):
            prefix = "" if row["model"] == "xgb" else "wls_"
            headline[f"{prefix}relasi_{row['relasi']}_{metric}"] = row[metric]
    headline.update(train_seconds=xgb_seconds, wls_train_seconds=wls_seconds)
    full = holdout[holdout["relasi"] == FULL]
    features = full[columns].astype(float)

    with mlflow.start_run() as run:
        mlflow.log_params(
            {
                "trainer": fitter.name,
                **{f"xgb.{k}": v for k, v in params.as_dict().items()},
                "seed": cfg.pmt.seed,
                "feature_spec": spec.name,
                "feature_spec_hash": spec.fingerprint,
                "features": len(columns),
                "missing_patterns": _pairs(cfg.pmt.missing_patterns),
                "relasi_mix": _pairs(cfg.pmt.relasi_mix),
                "holdout_fraction": cfg.pmt.holdout_fraction,
                "survey_date": cfg.pmt.survey_date,
                "batch": batch,
                "delta.bronze/susenas_keluarga": storage.version("bronze/susenas_keluarga"),
                "delta.bronze/susenas_individu": storage.version("bronze/susenas_individu"),
                "households_train": n_train,
                "households_holdout": len(full),
            }
        )
        mlflow.log_metrics({k: float(v) for k, v in headline.items() if pd.notna(v)})
        mlflow.log_dict(spec.raw, "feature_spec.yaml")
        mlflow.log_figure(importance_figure(booster), "feature_importance.png")
        mlflow.log_figure(prediction_figure(full), "predicted_vs_observed.png")
        with tempfile.TemporaryDirectory() as tmp:
            for name, table in (
                ("metrics_by_province.csv", by_province),
                ("metrics_by_relasi.csv", by_relasi),
                ("wls_coefficients.csv", baseline.table()),
            ):
                table.to_csv(Path(tmp, name), index=False)
                mlflow.log_artifact(str(Path(tmp, name)))
        example = features.head(5)
        info = mlflow.xgboost.log_model(
            booster,
            name="model",
            signature=infer_signature(example, booster.inplace_predict(example)),
            input_example=example,
            registered_model_name=cfg.mlflow.registered_model,
            metadata={"feature_spec": spec.raw, "feature_spec_hash": spec.fingerprint},
        )
        version = str(info.registered_model_version)
        promoted, previous = promote_if_better(
            client,
            cfg.mlflow.registered_model,
            version,
            headline,
            cfg.pmt.promotion_metric,
            cfg.pmt.min_improvement,
        )
        mlflow.set_tags({"promoted": str(promoted), "model_version": version})
    log.info("trained and logged in %.0f s (run %s)", time.monotonic() - started, run.info.run_id)
    return {
        "run_id": run.info.run_id,
        "version": version,
        "promoted": promoted,
        "previous": previous.version if previous else None,
        "metrics": headline,
        "by_relasi": by_relasi,
    }


def format_comparison(current: Champion) -> str:
    """The champion's holdout metrics next to the WLS baseline of the same run."""
    m = current.metrics
    lines = [f"champion {current.model_uri} (run {current.run_id})"]
    lines.append(f"{'holdout metric':<29} {'xgboost':>9} {'wls':>9}")
    for name in (*HEADLINE, *[f"observed_{h}" for h in HEADLINE]):
        xgb, wls = m.get(name, float("nan")), m.get(f"wls_{name}", float("nan"))
        lines.append(f"{name:<29} {xgb:>9.4f} {wls:>9.4f}")
    lines.append(
        f"{'train seconds':<29} {m.get('train_seconds', float('nan')):>9.1f} "
        f"{m.get('wls_train_seconds', float('nan')):>9.1f}"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any] | None:
    parser = cli.parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--unless-champion", action="store_true", help="train only if there is no champion yet"
    )
    args = parser.parse_args(argv)
    cfg = cli.config_from(args)
    client = connect(cfg)
    result = None
    if not (args.unless_champion and champion(client, cfg.mlflow.registered_model)):
        spark = build_session(cfg)
        result = train(spark, cfg, open_storage(spark, cfg))
    current = champion(client, cfg.mlflow.registered_model)
    print(format_comparison(current))  # the job's result, for the person who ran it
    return result


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
