"""Exclusion reasons, one case per reason, on hand-built families."""

from __future__ import annotations

from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ranking.eligibility import kelayakan

PERSONS = "dtsen_individu_id string, dtsen_keluarga_id string, nik string, kode_wilayah string"
KELAYAKAN = (
    "periode string, dtsen_keluarga_id string, dtsen_individu_id string, layak boolean,"
    " alasan array<string>"
)
NIK_1 = "3201010101800001"
NIK_2 = "3201014101850002"
NIK_3 = "3201011203100003"
OUTSIDER = "9999999999999999"


def _run(
    spark: SparkSession,
    persons: list[tuple],
    dukcapil: list[tuple] = (),
    bkn: list[tuple] = (),
    bpjs: list[tuple] = (),
    negatif: list[tuple] = (),
) -> DataFrame:
    """kelayakan on the given rows (admin tables empty unless given), in a stable order."""
    out = kelayakan(
        spark.createDataFrame(persons, PERSONS),
        spark.createDataFrame(list(dukcapil), "NIK string, STATUS string"),
        spark.createDataFrame(list(bkn), "nik string, kategori string, status string"),
        spark.createDataFrame(list(bpjs), "nik string, upah_bulanan long"),
        spark.createDataFrame(list(negatif), "nik string, alasan string"),
        spark.createDataFrame([("32", 2_000_000), ("51", 3_000_000)], "kode_prov string, ump long"),
        "2025Q2",
    )
    return out.orderBy("dtsen_keluarga_id", F.asc_nulls_first("dtsen_individu_id"))


def _expected(spark: SparkSession, rows: list[tuple]) -> DataFrame:
    """Rows of (family, person, alasan); periode and layak follow from them."""
    return spark.createDataFrame(
        [("2025Q2", kk, person, not alasan, alasan) for kk, person, alasan in rows], KELAYAKAN
    )


def test_one_deceased_member_excludes_the_person_not_the_family(spark: SparkSession) -> None:
    out = _run(
        spark,
        [("I1", "K1", NIK_1, "3201010001"), ("I2", "K1", NIK_2, "3201010001")],
        dukcapil=[(NIK_1, "MENINGGAL"), (NIK_2, "AKTIF"), (OUTSIDER, "MENINGGAL")],
    )
    expected = _expected(spark, [("K1", None, []), ("K1", "I1", ["MENINGGAL"]), ("K1", "I2", [])])
    assert_df_equality(out, expected, ignore_nullable=True)


def test_family_whose_every_member_died_is_excluded(spark: SparkSession) -> None:
    out = _run(
        spark,
        [("I1", "K1", NIK_1, "3201010001"), ("I2", "K2", NIK_2, "3201010001")],
        # NIK_1 listed twice, once deceased: not trusted as alive.
        dukcapil=[(NIK_1, "AKTIF"), (NIK_1, "MENINGGAL"), (NIK_2, "PINDAH_LN")],
    )
    expected = _expected(
        spark,
        [
            ("K1", None, ["SEMUA_ANGGOTA_MENINGGAL"]),
            ("K1", "I1", ["MENINGGAL", "SEMUA_ANGGOTA_MENINGGAL"]),
            ("K2", None, []),
            ("K2", "I2", []),
        ],
    )
    assert_df_equality(out, expected, ignore_nullable=True)


def test_civil_servant_excludes_self_and_family(spark: SparkSession) -> None:
    out = _run(
        spark,
        [
            ("I1", "K1", NIK_1, "3201010001"),
            ("I2", "K1", NIK_2, "3201010001"),
            ("I3", "K1", None, "3201010001"),  # a child without NIK
        ],
        bkn=[
            (NIK_1, "ASN", "AKTIF"),
            (NIK_1, "ASN", "AKTIF"),  # repeated row: one code
            (NIK_1, "TNI", "PENSIUN"),
            (OUTSIDER, "POLRI", "AKTIF"),
        ],
    )
    expected = _expected(
        spark,
        [
            ("K1", None, ["ANGGOTA_BKN"]),
            ("K1", "I1", ["ANGGOTA_BKN", "BKN_ASN_AKTIF", "BKN_TNI_PENSIUN"]),
            ("K1", "I2", ["ANGGOTA_BKN"]),
            ("K1", "I3", ["ANGGOTA_BKN"]),
        ],
    )
    assert_df_equality(out, expected, ignore_nullable=True)


def test_wage_above_provincial_ump_excludes(spark: SparkSession) -> None:
    out = _run(
        spark,
        [
            ("I1", "K1", NIK_1, "3201010001"),  # 2.5 M in province 32 (UMP 2 M)
            ("I2", "K1", NIK_2, "3201010001"),  # exactly the UMP: not above
            ("I3", "K2", NIK_3, "5171030001"),  # 2.5 M in province 51 (UMP 3 M)
        ],
        bpjs=[(NIK_1, 2_500_000), (NIK_1, 1_000_000), (NIK_2, 2_000_000), (NIK_3, 2_500_000)],
    )
    expected = _expected(
        spark,
        [
            ("K1", None, ["UPAH_DI_ATAS_UMP"]),
            ("K1", "I1", ["UPAH_DI_ATAS_UMP"]),
            ("K1", "I2", ["UPAH_DI_ATAS_UMP"]),
            ("K2", None, []),
            ("K2", "I3", []),
        ],
    )
    assert_df_equality(out, expected, ignore_nullable=True)


def test_negative_list_excludes(spark: SparkSession) -> None:
    out = _run(
        spark,
        [("I1", "K1", NIK_1, "3201010001"), ("I2", "K1", NIK_2, "3201010001")],
        negatif=[("3201-0101-0180-0001", "JUDOL"), (OUTSIDER, "JUDOL")],
    )
    expected = _expected(
        spark,
        [
            ("K1", None, ["DAFTAR_NEGATIF"]),
            ("K1", "I1", ["DAFTAR_NEGATIF"]),
            ("K1", "I2", ["DAFTAR_NEGATIF"]),
        ],
    )
    assert_df_equality(out, expected, ignore_nullable=True)
