"""PMT training on the small delivery's survey sample, against a real (SQLite) MLflow store."""

from __future__ import annotations

import math

import pytest

from ranking.metrics import better, targeting, weighted_percentile


def test_a_training_run_logs_parameters_metrics_artifacts_and_model(trained_pmt, small_warehouse):
    import mlflow
    from pyspark.sql import functions as F

    cfg, result = trained_pmt
    _, storage, _ = small_warehouse
    per_province = (
        storage.read("bronze/susenas_keluarga")
        .groupBy(F.substring("kode_wilayah", 1, 2))
        .agg(F.round(F.count(F.lit(1)) * 0.2).alias("n"))
    )
    client = mlflow.MlflowClient(cfg.tracking_uri)
    run = client.get_run(result["run_id"])
    params = run.data.params
    assert params["trainer"] == "xgboost"
    assert params["xgb.n_estimators"] == "40"
    assert params["feature_spec"] == "dtsen-39"
    assert params["delta.bronze/susenas_keluarga"] == "0"
    # 20% of each province's households (rounded), not 20% of the whole sample.
    assert int(params["households_holdout"]) == per_province.agg(F.sum("n")).first()[0]
    metrics = run.data.metrics
    for name in ("rmse", "r2", "spearman", "exclusion_error_40", "inclusion_error_50"):
        assert name in metrics and f"wls_{name}" in metrics and f"observed_{name}" in metrics
        assert f"cv_{name}" in metrics and f"default_cv_{name}" in metrics
        assert f"wls_cv_{name}" in metrics
    assert params["evaluation_folds"] == "5"
    # Promotion decides on the training households scored out of fold (the default).
    assert run.data.tags["promotion_reason"].startswith("first champion: cv_exclusion_error_40")
    assert {f"relasi_{r}_spearman" for r in ("R", "P", "D", "RP", "RD", "PD", "RPD")} <= set(
        metrics
    )
    assert 0.0 <= metrics["exclusion_error_40"] <= 1.0
    artifacts = {a.path for a in client.list_artifacts(result["run_id"])}
    assert {
        "feature_spec.yaml",
        "feature_importance.png",
        "predicted_vs_observed.png",
        "metrics_by_province.csv",
        "metrics_by_relasi.csv",
        "wls_coefficients.csv",
        "tuning_cv.csv",
    } <= artifacts
    assert run.data.tags["wls_model_uri"].startswith("models:/")
    children = client.search_runs(
        [run.info.experiment_id], f"tags.mlflow.parentRunId = '{result['run_id']}'"
    )
    assert sorted(c.data.tags["candidate"] for c in children) == ["wls", "xgb", "xgb_default"]
    by_name = {c.data.tags["candidate"]: c.data.metrics for c in children}
    assert by_name["wls"]["exclusion_error_40"] == metrics["wls_exclusion_error_40"]
    assert by_name["xgb_default"]["r2"] == metrics["default_r2"]
    assert by_name["xgb"]["spearman"] == metrics["spearman"]
    assert by_name["wls"]["cv_exclusion_error_40"] == metrics["wls_cv_exclusion_error_40"]
    # The tuned candidate's trees come from early stopping, within the configured cap.
    assert 1 <= int(params["tuned.n_estimators"]) <= 200
    assert params["tuned.max_depth"] in ("2", "3")
    version = client.get_model_version_by_alias("dtsen-pmt", "champion")
    assert (result["version"], result["promoted"]) == ("1", True)
    assert str(version.version) == "1" and version.run_id == result["run_id"]
    info = mlflow.models.get_model_info("models:/dtsen-pmt@champion")
    assert info.metadata["feature_spec"]["name"] == "dtsen-39"
    assert [c.name for c in info.signature.inputs.inputs][:3] == [
        "jumlah_keluarga_dalam_rumah",
        "status_bangunan_1",
        "status_bangunan_2",
    ]


def test_a_rerun_is_registered_but_a_tie_does_not_take_the_alias(
    trained_pmt, mlflow_store, isolate, spark
):
    import mlflow

    from jobs.train_pmt import run as train

    shared, first = trained_pmt
    # Version 2 goes to a copy of the store: the shared one keeps only version 1.
    cfg, storage = isolate(shared, mlflow_store)
    cfg = cfg.model_copy(update={"pmt": cfg.pmt.model_copy(update={"min_improvement": 0.005})})
    second = train(spark, cfg, storage)
    # Same data, seed and settings: the same tuned model, so no improvement.
    assert second["metrics"]["exclusion_error_40"] == first["metrics"]["exclusion_error_40"]
    assert (second["version"], second["promoted"], second["previous"]) == ("2", False, "1")
    assert second["decision"].champion == "incumbent"
    client = mlflow.MlflowClient(cfg.tracking_uri)
    assert str(client.get_model_version_by_alias("dtsen-pmt", "champion").version) == "1"
    tags = client.get_run(second["run_id"]).data.tags
    assert tags["promotion_reason"].startswith("champion stays: not better by 0.005")


def test_a_first_model_that_does_not_beat_wls_makes_wls_champion(
    trained_pmt, small_warehouse, isolate, spark, tmp_path
):
    import mlflow
    import numpy as np

    from dtsen.io.pmt_registry import connect, load_scoring_model
    from jobs.train_pmt import run as train
    from ranking.trainers import LinearPmt

    shared, _ = trained_pmt
    cfg, storage = isolate(shared)
    # A fresh store, and a margin no model can clear: XGBoost cannot beat WLS by 1.0.
    cfg = cfg.model_copy(
        update={
            "pmt": cfg.pmt.model_copy(update={"min_improvement": 1.0}),
            "mlflow": cfg.mlflow.model_copy(
                update={
                    "tracking_uri": f"sqlite:///{tmp_path}/fresh.db",
                    "artifact_location": str(tmp_path / "fresh"),
                }
            ),
        }
    )
    result = train(spark, cfg, storage)
    assert (result["version"], result["champion_version"]) == ("1", "2")
    assert result["decision"].champion == "baseline"
    client = mlflow.MlflowClient(cfg.tracking_uri)
    champion = client.get_model_version_by_alias("dtsen-pmt", "champion")
    assert (str(champion.version), champion.tags["kind"]) == ("2", "wls")
    tags = client.get_run(result["run_id"]).data.tags
    assert tags["champion_kind"] == "baseline"
    assert tags["promotion_reason"].startswith("first champion is WLS: XGBoost does not beat")
    # The scorer loads whichever kind is champion; the WLS payload predicts like the pyfunc.
    model = load_scoring_model(connect(cfg), "models:/dtsen-pmt@champion")
    assert (model.uri, model.kind) == ("models:/dtsen-pmt/2", "wls")
    linear = LinearPmt.from_json(model.payload)
    pyfunc = mlflow.pyfunc.load_model("models:/dtsen-pmt/2")
    example = pyfunc.input_example
    assert np.allclose(np.asarray(pyfunc.predict(example)), linear.predict(example))


def test_promotion_direction_per_metric():
    assert better("exclusion_error_40", 0.10, 0.12)
    assert not better("exclusion_error_40", 0.12, 0.12)
    assert better("spearman", 0.9, 0.8) and not better("observed_r2", 0.7, 0.8)
    assert not better("rmse", 0.19, 0.2, min_improvement=0.05)
    assert better("rmse", 0.3, math.nan) and not better("rmse", math.nan, 0.3)


def test_targeting_errors_with_weights():
    import numpy as np

    # Four households of one person each, equal weight: truth ranks a<b<c<d, the model
    # swaps b and c. Midpoint percentiles are 12.5, 37.5, 62.5, 87.5, so the poorest 40%
    # and 50% are both {a, b}; the model places {a, c} there.
    observed = np.array([1.0, 2.0, 3.0, 4.0])
    predicted = np.array([1.0, 3.0, 2.0, 4.0])
    scores = targeting(observed, predicted, np.ones(4), np.ones(4))
    assert scores["exclusion_error_50"] == pytest.approx(0.5)
    assert scores["inclusion_error_50"] == pytest.approx(0.5)
    assert scores["exclusion_error_40"] == pytest.approx(0.5)
    assert scores["spearman"] == pytest.approx(0.8)
    # People, not households: a household of 3 at the bottom is 3/6 of the population.
    pct = weighted_percentile(np.array([5.0, 1.0, 3.0]), np.array([1.0, 3.0, 2.0]))
    assert pct.tolist() == pytest.approx([100 * 5.5 / 6, 100 * 1.5 / 6, 100 * 4 / 6])


@pytest.mark.slow
def test_single_node_and_spark_trainers_give_equivalent_models(spark):
    import numpy as np
    from pyspark.sql import functions as F

    from ranking.trainers import LABEL, WEIGHT, SingleNodeTrainer, SparkTrainer, XgbParams

    columns = ["a", "b", "c"]
    data = (
        spark.range(3000)
        .select(
            F.rand(1).alias("a"),
            F.when(F.rand(2) < 0.1, None).otherwise(F.rand(3)).alias("b"),
            F.floor(F.rand(4) * 5).cast("double").alias("c"),
            (F.rand(5) + 0.5).alias(WEIGHT),
            F.randn(6).alias("noise"),
        )
        .withColumn(LABEL, F.col("a") * 2 + F.coalesce("b", F.lit(0.5)) - F.col("c") * 0.3)
        .withColumn(LABEL, F.col(LABEL) + F.col("noise") * 0.1)
        .repartition(1)  # the same row order for both trainers
        .cache()
    )
    params = XgbParams(n_estimators=60, subsample=1.0, colsample_bytree=1.0)
    local = SingleNodeTrainer(params, seed=7).fit(data, columns)
    distributed = SparkTrainer(params, seed=7, num_workers=1).fit(data, columns)
    frame = data.select(*columns).toPandas()
    a, b = local.inplace_predict(frame), distributed.inplace_predict(frame)
    assert np.corrcoef(a, b)[0, 1] > 0.999
    assert np.abs(a - b).mean() < 0.02
