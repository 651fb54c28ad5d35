"""The PMT candidates' pure parts: grouped folds, monotone rules, promotion, explanations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from chispa import assert_df_equality
from pyspark.sql import types as T

from ranking.evaluation import cross_validated_metrics
from ranking.promotion import BASELINE, CHALLENGER, INCUMBENT, decide
from ranking.scoring import WLS, XGBOOST, peringkat_faktor
from ranking.trainers import LinearPmt, XgbParams
from ranking.training import cross_validated
from ranking.tuning import grouped_folds, household_folds, monotone_constraints


def test_grouped_folds_keep_each_province_whole_and_balance_weight():
    groups = pd.Series(["11", "11", "31", "31", "32", "33", "33", "35"])
    weights = pd.Series([3.0, 3.0, 2.0, 2.0, 5.0, 1.0, 1.0, 5.0])
    folds = grouped_folds(groups, weights, 2, seed=1)
    # Totals 11: 6, 32: 5, 35: 5, 31: 4, 33: 2, taken heaviest first, each to the lighter
    # fold (ties: fold 0): 11 -> 0 (6, 0); 32 -> 1 (6, 5); 35 -> 1 (6, 10); 31 -> 0 (10, 10);
    # 33 -> 0 (12, 10).
    assert folds.tolist() == [0, 0, 0, 0, 1, 0, 0, 1]
    assert weights.groupby(folds).sum().tolist() == [12.0, 10.0]
    assert folds.equals(grouped_folds(groups, weights, 2, seed=1))  # reproducible
    with pytest.raises(ValueError, match="folds"):
        grouped_folds(groups, weights, 6, seed=1)


def test_household_folds_keep_a_households_copies_together_and_split_evenly():
    keys = pd.Series([f"R{i:04d}" for i in range(2000)] * 2)
    folds = household_folds(keys, 5, seed=3)
    assert folds.iloc[:2000].tolist() == folds.iloc[2000:].tolist()  # the masked copies
    assert sorted(folds.unique()) == [0, 1, 2, 3, 4]
    assert folds.iloc[:2000].value_counts().between(340, 460).all()
    assert folds.equals(household_folds(keys, 5, seed=3))
    assert not folds.equals(household_folds(keys, 5, seed=4))
    with pytest.raises(ValueError, match="evaluation_folds"):
        household_folds(keys, 1, seed=3)


def _linear_survey(n: int, noise: float, seed: int) -> pd.DataFrame:
    """n fully observed households with y = 1 + 2a + noise, unit weights."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    return pd.DataFrame(
        {
            "kunci": [f"R{i:03d}" for i in range(n)],
            "relasi": "RPD",
            "a": a,
            "y": 1.0 + 2.0 * a + rng.normal(scale=noise, size=n),
            "bobot_latih": 1.0,
            "bobot": 1.0,
            "anggota": 3,
        }
    )


def test_cross_validated_scores_every_row_with_models_that_did_not_see_it():
    n = 600
    frame = _linear_survey(n, noise=0.1, seed=7)
    # The last row is an outlier: the models of its own fold never see it.
    frame.loc[n - 1, "y"] = 100.0
    params = XgbParams(n_estimators=30, max_depth=2, learning_rate=0.3)
    scored = cross_validated(frame, frame.copy(), ["a"], (params, params), (1,), 3, 1, seed=5)
    assert scored[["xgb", "xgb_default", "wls"]].notna().all().all()
    error = (scored["wls"] - (1.0 + 2.0 * frame["a"])).abs()
    folds = household_folds(frame["kunci"], 3, seed=5)
    unseen = (folds == folds.iloc[-1]).to_numpy()
    assert error[unseen].max() < 0.05  # the outlier's own prediction included
    assert error[~unseen].mean() > 0.1  # fitted with the outlier
    clean = unseen[:-1]
    assert np.corrcoef(scored["xgb"][:-1][clean], frame["y"][:-1][clean])[0, 1] > 0.95
    assert scored.equals(
        cross_validated(frame, frame.copy(), ["a"], (params, params), (1,), 3, 1, seed=5)
    )


def test_cross_validated_repeats_draw_new_folds_and_their_metrics_are_averaged():
    n = 300
    frame = _linear_survey(n, noise=1.0, seed=11)
    params = XgbParams(n_estimators=10, max_depth=2, learning_rate=0.3)
    twice = cross_validated(frame, frame.copy(), ["a"], (params, params), (1,), 3, 2, seed=5)
    assert twice["ulangan"].value_counts().sort_index().tolist() == [n, n]
    first, second = (twice[twice["ulangan"] == r].reset_index(drop=True) for r in (0, 1))
    assert not np.allclose(first["wls"], second["wls"])  # other folds, other fits
    metrics = cross_validated_metrics(twice, {"RPD": 1.0})
    each = [cross_validated_metrics(part, {"RPD": 1.0}) for part in (first, second)]
    for name in ("cv_exclusion_error_40", "wls_cv_spearman", "default_cv_rmse"):
        assert metrics[name] == pytest.approx((each[0][name] + each[1][name]) / 2)


def test_monotone_constraints_take_the_first_matching_rule():
    rules = {"luas_lantai_per_kapita": 1, "aset_*": 1, "log_jumlah_anggota": -1}
    columns = ["aset_ac", "log_jumlah_anggota", "provinsi_11", "luas_lantai_per_kapita"]
    assert monotone_constraints(columns, rules) == (1, -1, 0, 1)
    with pytest.raises(ValueError, match="directions"):
        monotone_constraints(columns, {"aset_*": 2})


@pytest.mark.parametrize(
    ("challenger", "baseline", "incumbent", "expected"),
    [
        (0.20, 0.22, None, CHALLENGER),  # first run, beats WLS by 2 pp > margin
        (0.218, 0.22, None, BASELINE),  # first run, within the margin of WLS: WLS wins
        (0.25, 0.22, None, BASELINE),  # first run, worse than WLS
        (0.18, 0.22, 0.20, CHALLENGER),  # beats both by more than the margin
        (0.18, 0.183, 0.20, INCUMBENT),  # beats the champion but not its own WLS
        (0.198, 0.22, 0.20, INCUMBENT),  # beats WLS but not the champion by the margin
    ],
)
def test_promotion_needs_to_beat_champion_and_wls(challenger, baseline, incumbent, expected):
    decision = decide("exclusion_error_40", challenger, baseline, incumbent, 0.005)
    assert decision.champion == expected
    assert "exclusion_error_40" in decision.reason


def test_promotion_reason_says_why_wls_is_first_champion():
    decision = decide("spearman", 0.70, 0.72, None, 0.005)
    assert decision.champion == BASELINE
    assert decision.reason == (
        "first champion is WLS: XGBoost does not beat it by 0.005 (spearman 0.7000 vs WLS 0.7200)"
    )


def _features(spark):
    schema = T.StructType(
        [
            T.StructField("kunci", T.StringType()),
            T.StructField("a", T.DoubleType()),
            T.StructField("b", T.DoubleType()),
            T.StructField("c", T.DoubleType()),
        ]
    )
    rows = [("K1", 2.0, 1.0, 0.0), ("K2", 0.0, None, 3.0), ("K3", 1.0, 1.0, 1.0)]
    return spark.createDataFrame(rows, schema)


def _factors(rows):
    schema = T.StructType(
        [
            T.StructField("periode", T.StringType(), False),
            T.StructField("dtsen_keluarga_id", T.StringType()),
            T.StructField("rank", T.IntegerType()),
            T.StructField("feature", T.StringType()),
            T.StructField("contribution", T.DoubleType()),
        ]
    )
    return rows, schema


def test_peringkat_faktor_from_a_linear_champion(spark):
    from ranking.features import FeatureSpec

    # Means (1, 1, 1), coefficients (0.5, -2, 0.1): contributions coef x (x - mean).
    model = LinearPmt(("a", "b", "c"), np.ones(3), np.array([0.5, -2.0, 0.1]), 10.0)
    spec = FeatureSpec.from_dict(
        {
            "name": "t",
            "derived": [{"name": n, "expr": n} for n in ("a", "b", "c")],
            "sources": {s: {"family": [], "members": []} for s in ("regsosek", "p3ke", "dtks")},
        },
        "test",
    )
    out = peringkat_faktor(_features(spark), WLS, model.to_json().encode(), spec, 2, "2025Q1")
    rows, schema = _factors(
        [
            # K1: a +0.5, b 0, c -0.1 -> a, then c (b contributes nothing: left out).
            ("2025Q1", "K1", 1, "a", 0.5),
            ("2025Q1", "K1", 2, "c", -0.1),
            # K2: a -0.5, b missing -> mean -> 0, c +0.2.
            ("2025Q1", "K2", 1, "a", -0.5),
            ("2025Q1", "K2", 2, "c", 0.2),
        ]
    )
    expected = spark.createDataFrame(rows, schema)
    assert_df_equality(
        out.orderBy("dtsen_keluarga_id", "rank"),
        expected,
        ignore_nullable=True,
        allow_nan_equality=True,
    )


def test_xgboost_contributions_add_up_to_the_prediction(spark):
    import xgboost

    from ranking.scoring import top_contributions

    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 3))
    y = 2 * x[:, 0] - x[:, 1] + 0.1 * rng.normal(size=200)
    booster = xgboost.train(
        {"max_depth": 2, "eta": 0.3, "seed": 1}, xgboost.DMatrix(x, label=y), 20
    )
    payload = bytes(booster.save_raw("ubj"))
    booster.feature_names = None
    features = _features(spark)
    out = top_contributions(features.fillna(0.0), XGBOOST, payload, ["a", "b", "c"], 3)
    rows = out.orderBy("kunci", "rank").collect()
    k1 = [r for r in rows if r["kunci"] == "K1"]
    assert [r["rank"] for r in k1] == list(range(1, len(k1) + 1))
    assert k1[0]["feature"] == "a"  # the strongest driver at a = 2
    values = np.array([[2.0, 1.0, 0.0]])
    full = booster.predict(xgboost.DMatrix(values), pred_contribs=True)[0]
    assert sum(r["contribution"] for r in k1) == pytest.approx(full[:-1].sum(), abs=1e-5)
