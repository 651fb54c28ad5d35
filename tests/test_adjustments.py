"""Administrative signals and score adjustments on hand-built families."""

from __future__ import annotations

import pytest
from chispa import assert_approx_df_equality, assert_df_equality
from pyspark.sql import DataFrame, SparkSession

from ranking.adjustments import AdjustmentRule, apply_adjustments, family_signals

PERSONS = "dtsen_individu_id string, dtsen_keluarga_id string, nik string, kode_wilayah string"
SIGNALS = "dtsen_keluarga_id string, daya_va_maks int, jumlah_mobil long, upah_rasio_ump double"
RULES = (
    AdjustmentRule("PLN_DAYA_TINGGI", "daya_va_maks", above=2200, shift=0.25),
    AdjustmentRule("MOBIL_TERDAFTAR", "jumlah_mobil", above=0, shift=0.35),
    AdjustmentRule("UPAH_DI_ATAS_UMP", "upah_rasio_ump", above=1.0, shift=0.2),
)


def _persons(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(
        [
            ("I1", "K1", "3201010101800001", "3201010001"),
            ("I2", "K1", "3201014101850002", "3201010001"),
            ("I3", "K2", None, "3201020001"),
            ("I4", "K3", "5171010101700003", "5171030001"),
        ],
        PERSONS,
    )


def test_family_signals_aggregate_members_without_explosion(spark: SparkSession) -> None:
    pln = spark.createDataFrame(
        [
            ("P1", "3201010101800001", 1300, "3201010001"),
            ("P2", "3201014101850002", 3500, "3201010001"),
            ("P3", "3201010101800001", 900, "3201010001"),  # second contract, same NIK
            ("P4", "9999999999999999", 5500, "3201010001"),  # not in DTSEN
            ("P5", "5171 0101 0170 0003", 450, "5171030001"),  # NIK written with spaces
        ],
        "id_pelanggan string, nik_pelanggan string, daya_va int, kode_wilayah string",
    )
    samsat = spark.createDataFrame(
        [
            ("3201010101800001", "MOBIL", 2015),
            ("3201010101800001", "MOBIL", 2015),  # duplicated delivery line
            ("3201014101850002", "MOBIL", 2020),
            ("5171010101700003", "MOTOR", 2018),
            ("9999999999999999", "MOBIL", 2021),
        ],
        "nik_pemilik string, jenis string, tahun_pembuatan int",
    )
    bpjs = spark.createDataFrame(
        [
            ("3201010101800001", 5_000_000),
            ("3201010101800001", 3_000_000),  # second employer: the highest wage counts
            ("5171010101700003", 2_000_000),
            ("9999999999999999", 9_000_000),
        ],
        "nik string, upah_bulanan long",
    )
    ump = spark.createDataFrame(
        [("32", 2_000_000), ("51", 2_500_000)], "kode_prov string, ump long"
    )

    out = family_signals(_persons(spark), pln, samsat, bpjs, ump).orderBy("dtsen_keluarga_id")

    expected = spark.createDataFrame(
        [("K1", 3500, 2, 2.5), ("K2", None, 0, None), ("K3", 450, 0, 0.8)], SIGNALS
    )
    assert_df_equality(out, expected, ignore_nullable=True)


def _scores_and_signals(spark: SparkSession) -> tuple[DataFrame, DataFrame]:
    scores = spark.createDataFrame(
        [("K1", "3201", 13.0), ("K2", "3201", 12.5), ("K3", "3202", 12.0), ("K4", "3202", 12.0)],
        "dtsen_keluarga_id string, kode_kab string, skor double",
    )
    signals = spark.createDataFrame(
        [
            ("K1", 3500, 2, 2.5),  # every rule fires
            ("K2", 2200, 0, None),  # at the thresholds, not above; no wage
            ("K3", None, 1, 1.0),  # car only; wage exactly at UMP
        ],  # K4 has no admin record at all
        SIGNALS,
    )
    return scores, signals


def test_rules_fire_strictly_above_and_add_their_shifts(spark: SparkSession) -> None:
    scores, signals = _scores_and_signals(spark)

    out = apply_adjustments(scores, signals, RULES).orderBy("dtsen_keluarga_id")

    expected = spark.createDataFrame(
        [
            ("K1", "3201", 13.8, 13.0, ["PLN_DAYA_TINGGI", "MOBIL_TERDAFTAR", "UPAH_DI_ATAS_UMP"]),
            ("K2", "3201", 12.5, 12.5, []),
            ("K3", "3202", 12.35, 12.0, ["MOBIL_TERDAFTAR"]),
            ("K4", "3202", 12.0, 12.0, []),
        ],
        "dtsen_keluarga_id string, kode_kab string, skor double, skor_model double,"
        " penyesuaian array<string>",
    )
    assert_approx_df_equality(out, expected, precision=1e-9, ignore_nullable=True)


def test_no_rules_leaves_scores_unchanged(spark: SparkSession) -> None:
    scores, signals = _scores_and_signals(spark)

    out = apply_adjustments(scores, signals, []).orderBy("dtsen_keluarga_id")

    expected = spark.createDataFrame(
        [
            ("K1", "3201", 13.0, 13.0, []),
            ("K2", "3201", 12.5, 12.5, []),
            ("K3", "3202", 12.0, 12.0, []),
            ("K4", "3202", 12.0, 12.0, []),
        ],
        "dtsen_keluarga_id string, kode_kab string, skor double, skor_model double,"
        " penyesuaian array<string>",
    )
    assert_df_equality(out, expected, ignore_nullable=True)


def test_unknown_signal_names_the_rule_and_the_available_signals(spark: SparkSession) -> None:
    scores, signals = _scores_and_signals(spark)
    rules = (*RULES, AdjustmentRule("RUMAH_MEWAH", "luas_rumah", above=200, shift=0.3))

    with pytest.raises(ValueError) as error:
        apply_adjustments(scores, signals, rules)

    message = str(error.value)
    assert "'RUMAH_MEWAH'" in message and "'luas_rumah'" in message
    assert "['daya_va_maks', 'jumlah_mobil', 'upah_rasio_ump']" in message


def test_adjusting_twice_is_refused(spark: SparkSession) -> None:
    scores, signals = _scores_and_signals(spark)
    once = apply_adjustments(scores, signals, RULES)

    with pytest.raises(ValueError, match="skor_model"):
        apply_adjustments(once, signals, RULES)
