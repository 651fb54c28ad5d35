"""Population-weighted desil: hand-computed values and exact agreement with one window."""

from __future__ import annotations

import math

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ranking.desil import reference_desil, with_desil

SCHEMA = "dtsen_keluarga_id string, kode_prov string, skor double, jumlah_anggota int"
# Listed out of key order on purpose: the tie on skor 2.0 (K2, K3, K5) must be broken by
# the key, not by the order rows arrive in.
FAMILIES = [
    ("K5", "12", 2.0, 3),
    ("K3", "11", 2.0, 0),  # weight 0: takes no room
    ("K1", "11", 1.0, 4),
    ("K7", "13", 4.0, 0),  # a province of nobody: percentile 50 by definition
    ("K6", "12", 3.0, 10),  # a large family
    ("K2", "11", 2.0, 2),
    ("K4", "12", 0.5, 1),
]
OUT = "desil int, persentil double"


def _families(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(FAMILIES, SCHEMA)


def _pct(before: int, weight: int, total: int) -> float:
    """The family's midpoint, written as the library computes it (same float rounding)."""
    return 100 * (before + weight / 2) / total


def test_national_desil_by_hand(spark: SparkSession) -> None:
    # National order: K4 (1 person), K1 (4), K2 (2), K3 (0), K5 (3), K6 (10), K7 (0); 20.
    out = with_desil(_families(spark), by=[], desil_col="desil", percentile_col="persentil")
    expected = spark.createDataFrame(
        [
            ("K1", "11", 1.0, 4, 2, _pct(1, 4, 20)),  # 15.0
            ("K2", "11", 2.0, 2, 4, _pct(5, 2, 20)),  # 30.0
            ("K3", "11", 2.0, 0, 4, _pct(7, 0, 20)),  # 35.0
            ("K4", "12", 0.5, 1, 1, _pct(0, 1, 20)),  # 2.5
            ("K5", "12", 2.0, 3, 5, _pct(7, 3, 20)),  # 42.5
            ("K6", "12", 3.0, 10, 8, _pct(10, 10, 20)),  # 75.0
            ("K7", "13", 4.0, 0, 10, _pct(20, 0, 20)),  # 100.0: desil capped at 10
        ],
        f"{SCHEMA}, {OUT}",
    )
    assert_df_equality(out.orderBy("dtsen_keluarga_id"), expected, ignore_nullable=True)


def test_province_desil_by_hand(spark: SparkSession) -> None:
    out = with_desil(
        _families(spark), by=["kode_prov"], desil_col="desil", percentile_col="persentil"
    )
    expected = spark.createDataFrame(
        [
            ("K1", "11", 1.0, 4, 4, _pct(0, 4, 6)),  # 33.3
            ("K2", "11", 2.0, 2, 9, _pct(4, 2, 6)),  # 83.3
            ("K3", "11", 2.0, 0, 10, _pct(6, 0, 6)),  # 100.0
            ("K4", "12", 0.5, 1, 1, _pct(0, 1, 14)),  # 3.6
            ("K5", "12", 2.0, 3, 2, _pct(1, 3, 14)),  # 17.9
            ("K6", "12", 3.0, 10, 7, _pct(4, 10, 14)),  # 64.3
            ("K7", "13", 4.0, 0, 6, 50.0),  # total weight 0
        ],
        f"{SCHEMA}, {OUT}",
    )
    assert_df_equality(out.orderBy("dtsen_keluarga_id"), expected, ignore_nullable=True)


def test_desil_weights_people_not_families(spark: SparkSession) -> None:
    # One poor family of 10 people and ten richer single-person households: the big
    # family is half the people, so it sits at the 25th percentile (desil 3) and the
    # singles share desil 6-10. Counting families would put the big family in desil 1.
    rows = [("B", "11", 0.0, 10)] + [(f"S{i}", "11", 1.0 + i, 1) for i in range(10)]
    out = with_desil(spark.createDataFrame(rows, SCHEMA), by=[], desil_col="desil")
    expected = spark.createDataFrame(
        [(r[0], d) for r, d in zip(rows, [3, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10], strict=True)],
        "dtsen_keluarga_id string, desil int",
    )
    assert_df_equality(
        out.select("dtsen_keluarga_id", "desil").orderBy("dtsen_keluarga_id"),
        expected.orderBy("dtsen_keluarga_id"),
        ignore_nullable=True,
    )


@pytest.fixture(scope="module")
def many_families(spark: SparkSession) -> DataFrame:
    """4,000 families with heavy ties (skor rounded to 1 decimal), weights 0-8, some nulls,
    plus the awkward doubles: -0.0 (equal to 0.0 in Spark's order), +/-inf and NaN (last).
    """
    kab = (F.rand(3) * 40).cast("int")
    generated = spark.range(4000).select(
        F.format_string("K%05d", "id").alias("dtsen_keluarga_id"),
        F.when(F.rand(4) < 0.02, None)
        .otherwise(F.format_string("%02d", (kab / 8).cast("int")))
        .alias("kode_prov"),
        F.format_string("%04d", kab).alias("kode_kab"),
        F.when(F.rand(5) < 0.01, None).otherwise(F.round(F.randn(1), 1)).alias("skor"),
        (F.rand(2) * 9).cast("int").alias("jumlah_anggota"),
    )
    special = [-0.0, 0.0, -0.0, math.inf, -math.inf, math.nan, math.nan]
    awkward = spark.createDataFrame(
        [(f"X{i}", "01", "0001", v, 3) for i, v in enumerate(special)],
        "dtsen_keluarga_id string, kode_prov string, kode_kab string, skor double,"
        " jumlah_anggota int",
    )
    return generated.unionByName(awkward)


@pytest.mark.parametrize(
    ("by", "buckets"),
    [([], 1), ([], 7), ([], 1000), (["kode_prov"], 7), (["kode_prov"], 1000), (["kode_kab"], 7)],
    ids=["nasional-b1", "nasional-b7", "nasional-b1000", "prov-b7", "prov-b1000", "kab-b7"],
)
def test_bucketed_equals_single_window(
    spark: SparkSession, many_families: DataFrame, by: list[str], buckets: int
) -> None:
    # 7 buckets: many buckets, each spanning several tied blocks; 1000: more buckets than
    # the ~80 distinct scores, so most are empty; 1: the degenerate single bucket.
    # Null scores and null provinces follow the window's rules (nulls first, own group).
    args = {"by": by, "desil_col": "desil", "percentile_col": "persentil"}
    fast = with_desil(many_families, buckets=buckets, **args)
    naive = reference_desil(many_families, **args)
    assert_df_equality(
        fast.orderBy("dtsen_keluarga_id"),
        naive.orderBy("dtsen_keluarga_id"),
        ignore_nullable=True,
        allow_nan_equality=True,  # the NaN scores themselves; Python has nan != nan
    )


def test_missing_columns_are_named(spark: SparkSession) -> None:
    families = _families(spark).drop("jumlah_anggota")
    with pytest.raises(ValueError, match=r"missing columns \['kode_kab', 'jumlah_anggota'\]"):
        with_desil(families, by=["kode_kab"], desil_col="desil")
