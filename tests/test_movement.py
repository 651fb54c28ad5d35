"""Desil transitions and program movements between two hand-built periods."""

from __future__ import annotations

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from ranking.movement import desil_transitions, program_movements


def test_desil_transitions_include_families_in_one_period_only(spark: SparkSession) -> None:
    peringkat = spark.createDataFrame(
        [
            ("2025Q1", "K1", 1),
            ("2025Q1", "K2", 2),
            ("2025Q1", "K3", 2),
            ("2025Q1", "K4", 5),  # gone in Q2
            ("2025Q2", "K1", 1),
            ("2025Q2", "K2", 3),
            ("2025Q2", "K3", 3),  # same move as K2: counted together
            ("2025Q2", "K5", 1),  # new in Q2
        ],
        "periode string, dtsen_keluarga_id string, desil_nasional int",
    )
    before = peringkat.where(F.col("periode") == "2025Q1")
    after = peringkat.where(F.col("periode") == "2025Q2")

    out = desil_transitions(before, after).orderBy(
        F.asc_nulls_first("desil_lama"), F.asc_nulls_first("desil_baru")
    )

    expected = spark.createDataFrame(
        [(None, 1, 1), (1, 1, 1), (2, 3, 2), (5, None, 1)],
        "desil_lama int, desil_baru int, jumlah_keluarga long",
    )
    assert_df_equality(out, expected, ignore_nullable=True)


def test_desil_transitions_unknown_column(spark: SparkSession) -> None:
    df = spark.createDataFrame(
        [("2025Q1", "K1", 1)], "periode string, dtsen_keluarga_id string, d int"
    )

    with pytest.raises(ValueError, match="desil_provinsi"):
        desil_transitions(df, df, desil_col="desil_provinsi")


def test_program_movements_per_unit(spark: SparkSession) -> None:
    penerima = spark.createDataFrame(
        [
            ("2025Q1", "PKH", "K1", None, 1, "TETAP"),
            ("2025Q1", "PKH", "K2", None, 1, "TETAP"),
            ("2025Q1", "PBI", "K1", "I1", 1, "TETAP"),
            ("2025Q1", "PBI", "K1", "I2", 4, "BARU_PERINGKAT"),
            ("2025Q2", "PKH", "K1", None, 1, "TETAP"),  # stays: not counted (null-safe key)
            ("2025Q2", "PKH", "K3", None, 4, "BARU_PERINGKAT"),
            ("2025Q2", "PBI", "K1", "I1", 1, "TETAP"),
            ("2025Q2", "PBI", "K1", "I3", 3, "BARU_GROUNDCHECK"),
            ("2025Q2", "SEMBAKO", "K2", None, 4, "BARU_PERINGKAT"),  # K2 moves PKH -> SEMBAKO
        ],
        "periode string, program string, dtsen_keluarga_id string, dtsen_individu_id string,"
        " prioritas int, alasan string",
    )
    before = penerima.where(F.col("periode") == "2025Q1")
    after = penerima.where(F.col("periode") == "2025Q2")

    out = program_movements(before, after).orderBy("program", "arah", "alasan")

    expected = spark.createDataFrame(
        [
            ("PBI", "KELUAR", "KELUAR", 1),
            ("PBI", "MASUK", "BARU_GROUNDCHECK", 1),
            ("PKH", "KELUAR", "KELUAR", 1),
            ("PKH", "MASUK", "BARU_PERINGKAT", 1),
            ("SEMBAKO", "MASUK", "BARU_PERINGKAT", 1),
        ],
        "program string, arah string, alasan string, jumlah long",
    )
    assert_df_equality(out, expected, ignore_nullable=True)


def test_exits_carry_the_later_periods_reason(spark: SparkSession) -> None:
    unit = "program string, dtsen_keluarga_id string, dtsen_individu_id string"
    before = spark.createDataFrame(
        [
            ("PKH", "K1", None, "TETAP"),  # no longer eligible in Q2
            ("PKH", "K2", None, "TETAP"),  # richer in Q2: outside desil 1-4
            ("PKH", "K3", None, "TETAP"),  # still in range, but the kab is over quota
            ("PKH", "K4", None, "TETAP"),  # not ranked in Q2 (merged by linkage)
            ("PBI", "K1", "I1", "TETAP"),  # the person is deceased
        ],
        f"{unit}, alasan string",
    )
    after = spark.createDataFrame([], f"{unit}, alasan string")
    decisions = spark.createDataFrame(
        [
            ("PKH", "K1", None, False, True),
            ("PKH", "K2", None, True, False),
            ("PKH", "K3", None, True, True),
            ("PBI", "K1", "I1", False, True),
            ("PBI", "K1", "I9", True, True),  # another person: not a match for I1
        ],
        f"{unit}, layak boolean, dalam_desil boolean",
    )

    out = program_movements(before, after, decisions).orderBy("program", "alasan")

    expected = spark.createDataFrame(
        [
            ("PBI", "KELUAR", "TIDAK_LAYAK", 1),
            ("PKH", "KELUAR", "DI_LUAR_DESIL", 1),
            ("PKH", "KELUAR", "LEBIH_KUOTA", 1),
            ("PKH", "KELUAR", "TIDAK_DIPERINGKAT", 1),
            ("PKH", "KELUAR", "TIDAK_LAYAK", 1),
        ],
        "program string, arah string, alasan string, jumlah long",
    )
    assert_df_equality(out, expected, ignore_nullable=True)
