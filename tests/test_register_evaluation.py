"""Targeting errors of the ranked register against the truth, on a hand-made register."""

from __future__ import annotations

from chispa import assert_df_equality
from pyspark.sql import types as T

from ranking.register_evaluation import register_targeting, true_welfare


def test_register_errors_overall_and_by_relasi(spark):
    schema = T.StructType(
        [
            T.StructField("dtsen_keluarga_id", T.StringType()),
            T.StructField("relasi", T.StringType()),
            T.StructField("jumlah_anggota", T.IntegerType()),
            T.StructField("ln_pce", T.DoubleType()),
            T.StructField("desil_nasional", T.IntegerType()),
            T.StructField("ln_pce_oracle", T.DoubleType()),
        ]
    )
    # Person-weighted shares by true ln_pce: 0.2, 0.4, 0.6, 1.0, so the poorest 40% of
    # people are F1 and F2, the poorest 50% F1, F2 and F3. Desil 1-4 and 1-5 hold F1, F3;
    # the oracle's poorest 40% are F1, F3 and its poorest 50% F1, F3, F2.
    ranked = spark.createDataFrame(
        [
            ("F1", "R", 1, 1.0, 1, 1.0),
            ("F2", "R", 1, 2.0, 7, 3.0),
            ("F3", "P", 1, 3.0, 2, 2.0),
            ("F4", "P", 2, 4.0, 9, 4.0),
        ],
        schema,
    )
    out = register_targeting(ranked, {"desil": "desil_nasional", "oracle": "ln_pce_oracle"})
    metrics = [
        "exclusion_error_40",
        "inclusion_error_40",
        "exclusion_error_50",
        "inclusion_error_50",
    ]
    expected = spark.createDataFrame(
        [
            # P has no one in the true poorest 40%: its exclusion error is undefined (null).
            ("desil", "P", 2, 3, None, 1.0, 0.0, 0.0),
            ("desil", "R", 2, 2, 0.5, 0.0, 0.5, 0.0),
            ("desil", "SEMUA", 4, 5, 0.5, 0.5, 1 / 3, 0.0),
            ("oracle", "P", 2, 3, None, 1.0, 0.0, 0.0),
            ("oracle", "R", 2, 2, 0.5, 0.0, 0.0, 0.0),
            ("oracle", "SEMUA", 4, 5, 0.5, 0.5, 0.0, 0.0),
        ],
        T.StructType(
            [
                T.StructField("peringkat", T.StringType(), False),
                T.StructField("relasi", T.StringType()),
                T.StructField("keluarga", T.LongType(), False),
                T.StructField("jiwa", T.LongType()),
                *[T.StructField(m, T.DoubleType()) for m in metrics],
            ]
        ),
    )
    assert_df_equality(
        out.orderBy("peringkat", "relasi"),
        expected,
        ignore_nullable=True,
    )


def test_true_welfare_follows_the_majority_of_source_families(spark):
    links = spark.createDataFrame(
        [
            ("regsosek", "r1", "K1"),
            ("p3ke", "p1", "K1"),
            ("dtks", "d1", "K1"),
            ("dtks", "d2", "K2"),
            ("p3ke", "p2", "K2"),
        ],
        "sumber string, id_keluarga string, dtsen_keluarga_id string",
    )
    truth = spark.createDataFrame(
        [
            ("regsosek", "r1", "F1"),
            ("p3ke", "p1", "F1"),
            ("dtks", "d1", "F9"),
            ("dtks", "d2", "F3"),
            ("p3ke", "p2", "F2"),
        ],
        "sumber string, id_keluarga string, family_id string",
    )
    welfare = spark.createDataFrame(
        [("F1", 100.0, 4.5), ("F2", 1.0, 0.5), ("F3", 50.0, 3.9), ("F9", 9.0, 2.0)],
        "family_id string, pengeluaran_kapita double, ln_pce_oracle double",
    )
    out = true_welfare(links, truth, welfare).orderBy("dtsen_keluarga_id").collect()
    # K1: two votes for F1, one for F9. K2: one each for F2 and F3, the tie goes to F2.
    assert [(r[0], round(r[1], 6), r[2]) for r in out] == [
        ("K1", 4.60517, 4.5),
        ("K2", 0.0, 0.5),
    ]
