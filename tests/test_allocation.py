"""Quota arithmetic, quota status, recipient priorities and change counts."""

from __future__ import annotations

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession

from ranking.allocation import allocate, changes, kab_quotas, quota_status, scale_quota

CANDIDATES = (
    "unit_id string, kode_kab string, persentil double, dalam_desil boolean, layak boolean,"
    " penerima boolean, sudah_groundcheck boolean"
)
DECISIONS = f"{CANDIDATES}, terpilih boolean, prioritas int, alasan string"
QUOTAS = "kode_kab string, kuota long"
CHANGES = "arah string, alasan string, jumlah long"


def test_scale_quota_rounds_half_up() -> None:
    assert scale_quota(10_000_000, 1_500, 280_000_000) == 54  # 53.57
    assert scale_quota(7, 1, 2) == 4  # 3.5
    assert scale_quota(96_000_000, 0, 280_000_000) == 0
    with pytest.raises(ValueError, match="national_population"):
        scale_quota(10, 1, 0)


def test_kab_quotas_largest_remainder_sums_to_quota(spark: SparkSession) -> None:
    poor = spark.createDataFrame(
        [("3201", 50), ("3202", 30), ("3203", 20)], "kode_kab string, penduduk_miskin long"
    )

    out = kab_quotas(poor, 7).orderBy("kode_kab")

    # Shares 3.5, 2.1, 1.4: whole parts 3 + 2 + 1 = 6; the one place left goes to the
    # largest remainder (0.5, kab 3201).
    expected = spark.createDataFrame([("3201", 4), ("3202", 2), ("3203", 1)], QUOTAS)
    assert_df_equality(out, expected, ignore_nullable=True)


def test_kab_quotas_equal_remainders_go_to_lower_code(spark: SparkSession) -> None:
    poor = spark.createDataFrame(
        [
            ("3203", 10),
            ("3202", 10),
            ("3201", 10),
            ("3203", 10),  # repeated reference row, not a second region
            ("3204", None),  # unknown count reads as 0
        ],
        "kode_kab string, penduduk_miskin long",
    )

    out = kab_quotas(poor, 2).orderBy("kode_kab")

    expected = spark.createDataFrame([("3201", 1), ("3202", 1), ("3203", 0), ("3204", 0)], QUOTAS)
    assert_df_equality(out, expected, ignore_nullable=True)


def test_quota_status(spark: SparkSession) -> None:
    quotas = spark.createDataFrame([("3201", 4), ("3202", 2), ("3203", 1)], QUOTAS)
    current = spark.createDataFrame(
        [("3201", 5), ("3202", 2), ("3204", 3)], "kode_kab string, penerima_saat_ini long"
    )

    out = quota_status(quotas, current).orderBy("kode_kab")

    expected = spark.createDataFrame(
        [
            ("3201", 4, 5, "LEBIH"),
            ("3202", 2, 2, "SESUAI"),
            ("3203", 1, 0, "KURANG"),  # no current recipients
            ("3204", 0, 3, "LEBIH"),  # no quota at all
        ],
        "kode_kab string, kuota long, penerima_saat_ini long, status string",
    )
    assert_df_equality(out, expected, ignore_nullable=True)


def _under_quota(spark: SparkSession) -> DataFrame:
    """Kab 3201, quota 3: one kept recipient, then ground-checked before better-ranked."""
    return spark.createDataFrame(
        [
            ("a1", "3201", 0.30, True, True, True, False),  # recipient in desil
            ("a2", "3201", 0.25, True, True, False, True),  # new, ground-checked
            ("a3", "3201", 0.05, True, True, False, False),  # new, best ranked
            ("a4", "3201", 0.05, True, True, False, False),  # tied with a3, loses on unit_id
            ("a5", "3201", 0.10, True, False, True, True),  # recipient, not layak
            ("a6", "3201", 0.80, False, True, True, True),  # recipient, outside, checked
            ("a7", "3201", 0.90, False, True, False, None),  # outside desil, not a recipient
        ],
        CANDIDATES,
    )


def test_under_quota_kab_fills_ground_checked_before_rank(spark: SparkSession) -> None:
    quotas = spark.createDataFrame([("3201", 3)], QUOTAS)

    out = allocate(_under_quota(spark), quotas).orderBy("unit_id")

    expected = spark.createDataFrame(
        [
            ("a1", "3201", 0.30, True, True, True, False, True, 2, "TETAP"),
            ("a2", "3201", 0.25, True, True, False, True, True, 4, "BARU_GROUNDCHECK"),
            ("a3", "3201", 0.05, True, True, False, False, True, 6, "BARU_PERINGKAT"),
            ("a4", "3201", 0.05, True, True, False, False, False, 6, None),
            ("a5", "3201", 0.10, True, False, True, True, False, None, "TIDAK_LAYAK"),
            ("a6", "3201", 0.80, False, True, True, True, False, None, "DI_LUAR_DESIL"),
            ("a7", "3201", 0.90, False, True, False, False, False, None, None),
        ],
        DECISIONS,
    )
    assert_df_equality(out, expected, ignore_nullable=True)


def test_over_quota_kab_drops_its_last_recipients(spark: SparkSession) -> None:
    candidates = spark.createDataFrame(
        [
            ("b1", "3202", 0.20, True, True, True, True),
            ("b2", "3202", 0.35, True, True, True, False),
            ("b3", "3202", 0.40, True, True, True, False),  # richest kept recipient: dropped
            ("b4", "3202", None, None, True, True, None),  # no score: priority 3, sorts last
            ("c1", "3203", 0.65, False, True, True, False),  # kept until ground-checked
            ("c2", "3203", 0.15, True, True, False, False),
            ("d1", "3204", 0.10, True, True, False, False),  # kab without quota row
        ],
        CANDIDATES,
    )
    quotas = spark.createDataFrame([("3202", 2), ("3203", 2)], QUOTAS)

    out = allocate(candidates, quotas).orderBy("unit_id")

    expected = spark.createDataFrame(
        [
            ("b1", "3202", 0.20, True, True, True, True, True, 2, "TETAP"),
            ("b2", "3202", 0.35, True, True, True, False, True, 2, "TETAP"),
            ("b3", "3202", 0.40, True, True, True, False, False, 2, "LEBIH_KUOTA"),
            ("b4", "3202", None, False, True, True, False, False, 3, "LEBIH_KUOTA"),
            ("c1", "3203", 0.65, False, True, True, False, True, 3, "TETAP_BELUM_GROUNDCHECK"),
            ("c2", "3203", 0.15, True, True, False, False, True, 6, "BARU_PERINGKAT"),
            ("d1", "3204", 0.10, True, True, False, False, False, 6, None),
        ],
        DECISIONS,
    )
    assert_df_equality(out, expected, ignore_nullable=True)


def test_changes_count_entries_exits_and_errors(spark: SparkSession) -> None:
    decisions = allocate(_under_quota(spark), spark.createDataFrame([("3201", 3)], QUOTAS))
    unknown = spark.createDataFrame([("9999999999999991",), ("9999999999999992",)], "nik string")

    out = changes(decisions, unknown).orderBy("arah", "alasan")

    expected = spark.createDataFrame(
        [
            ("GALAT", "EKSKLUSI", 3),  # a2, a3, a4
            ("GALAT", "INKLUSI", 2),  # a5, a6
            ("KELUAR", "DI_LUAR_DESIL", 1),
            ("KELUAR", "TIDAK_DI_DTSEN", 2),
            ("KELUAR", "TIDAK_LAYAK", 1),
            ("MASUK", "BARU_GROUNDCHECK", 1),
            ("MASUK", "BARU_PERINGKAT", 1),
            ("REDISTRIBUSI", "REDISTRIBUSI_NASIONAL", 0),
        ],
        CHANGES,
    )
    assert_df_equality(out, expected, ignore_nullable=True)


def test_changes_without_unknown_recipients(spark: SparkSession) -> None:
    decisions = spark.createDataFrame(
        [
            ("b1", "3202", 0.20, True, True, True, True, True, 2, "TETAP"),
            ("b3", "3202", 0.40, True, True, True, False, False, 2, "LEBIH_KUOTA"),
        ],
        DECISIONS,
    )

    out = changes(decisions).orderBy("arah", "alasan")

    expected = spark.createDataFrame(
        [
            ("GALAT", "EKSKLUSI", 0),
            ("GALAT", "INKLUSI", 0),
            ("KELUAR", "LEBIH_KUOTA", 1),
            ("REDISTRIBUSI", "REDISTRIBUSI_NASIONAL", 0),
        ],
        CHANGES,
    )
    assert_df_equality(out, expected, ignore_nullable=True)
