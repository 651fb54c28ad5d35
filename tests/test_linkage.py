"""Linkage building blocks on hand-built Indonesian records."""

from __future__ import annotations

import datetime as dt

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from linkage import evaluate, family, nik, padan
from linkage.ids import hmac_sha256, stable_id
from linkage.records import standardise

KECAMATAN = [("3201010",), ("3201020",), ("5171030",)]


def _decode(spark: SparkSession, numbers: list[str | None], female: bool) -> DataFrame:
    df = spark.createDataFrame([(n,) for n in numbers], "n string")
    kec = spark.createDataFrame(KECAMATAN, "kode_kec string")
    return nik.decode(df, "n", "x", kec, 2025, female_offset=female)


def test_nik_decoding_and_failure_reasons(spark: SparkSession) -> None:
    numbers = [
        "3201014101800002",  # woman born 1 Jan 1980
        "3201021512050001",  # man born 15 Dec 2005
        "32 0101 410180 0002",  # spaces are tolerated
        None,
        "320101410180000",  # 15 digits
        "32010141018O0002",  # a letter O
        "9901014101800002",  # no such region
        "3201013102800002",  # 31 February
        "3201014101800000",  # serial 0000
    ]
    out = _decode(spark, numbers, female=True).select("x", "x_alasan", "x_tanggal", "x_jk")
    expected = spark.createDataFrame(
        [
            ("3201014101800002", None, dt.date(1980, 1, 1), 2),
            ("3201021512050001", None, dt.date(2005, 12, 15), 1),
            ("3201014101800002", None, dt.date(1980, 1, 1), 2),
            (None, "KOSONG", None, None),
            ("320101410180000", "PANJANG", None, None),
            ("32010141018O0002", "BUKAN_ANGKA", None, None),
            ("9901014101800002", "WILAYAH", dt.date(1980, 1, 1), 2),
            ("3201013102800002", "TANGGAL", None, None),
            ("3201014101800000", "SERIAL", dt.date(1980, 1, 1), 2),
        ],
        "x string, x_alasan string, x_tanggal date, x_jk int",
    )
    assert_df_equality(out, expected, ignore_row_order=True, ignore_nullable=True)


def test_kk_has_no_sex_offset(spark: SparkSession) -> None:
    out = _decode(spark, ["3201014101100001", "3201011501100001"], female=False)
    rows = {r["x"]: (r["x_alasan"], r["x_tanggal"]) for r in out.collect()}
    assert rows["3201014101100001"] == ("TANGGAL", None)  # day 41 is not a date on a KK
    assert rows["3201011501100001"] == (None, dt.date(2010, 1, 15))


RAW_SCHEMA = (
    "sumber string, id_record string, id_keluarga string, nik_asli string, kk_asli string, "
    "nama_asli string, jenis_kelamin int, tanggal_lahir date, hubungan int, "
    "kode_wilayah string, alamat_asli string, rt_kolom int, rw_kolom int, "
    "status_dukcapil string"
)
SITI_NIK, BUDI_NIK, ANI_NIK, DEAD_NIK = (
    "3201014101800002",
    "3201011505750001",
    "3201015203100003",
    "3201010101300004",
)
KK = "3201010101100001"


def _raw(spark: SparkSession) -> DataFrame:
    d80, d75, d10, d30 = (
        dt.date(1980, 1, 1),
        dt.date(1975, 5, 15),
        dt.date(2010, 3, 12),
        dt.date(1930, 1, 1),
    )
    rows = [
        # Dukcapil: Siti, Budi (her husband), Ani (their daughter), a deceased grandfather.
        (
            "dukcapil",
            SITI_NIK,
            KK,
            SITI_NIK,
            KK,
            "SITI AMINAH",
            2,
            d80,
            2,
            "3201010001",
            "JL. MAWAR",
            1,
            2,
            "AKTIF",
        ),
        (
            "dukcapil",
            BUDI_NIK,
            KK,
            BUDI_NIK,
            KK,
            "BUDI SANTOSO",
            1,
            d75,
            1,
            "3201010001",
            "JL. MAWAR",
            1,
            2,
            "AKTIF",
        ),
        (
            "dukcapil",
            ANI_NIK,
            KK,
            ANI_NIK,
            KK,
            "ANI LESTARI",
            2,
            d10,
            3,
            "3201010001",
            "JL. MAWAR",
            1,
            2,
            "AKTIF",
        ),
        (
            "dukcapil",
            DEAD_NIK,
            KK,
            DEAD_NIK,
            KK,
            "SLAMET",
            1,
            d30,
            6,
            "3201010001",
            "JL. MAWAR",
            1,
            2,
            "MENINGGAL",
        ),
        # Regsosek: Siti with a title and old spelling; Ani carries her father's NIK.
        (
            "regsosek",
            "R1",
            "RK1",
            SITI_NIK,
            KK,
            "Hj. Siti Aminah",
            2,
            d80,
            2,
            "3201010001",
            "JLN MAWAR",
            None,
            None,
            None,
        ),
        (
            "regsosek",
            "R2",
            "RK1",
            BUDI_NIK,
            KK,
            "Ani Lestari",
            2,
            d10,
            3,
            "3201010001",
            "JLN MAWAR",
            None,
            None,
            None,
        ),
        # P3KE: the deceased grandfather, still listed; DTKS: Budi with a broken NIK.
        (
            "p3ke",
            "P1",
            "PK1",
            DEAD_NIK,
            KK,
            "SLAMET",
            1,
            d30,
            6,
            "3201010001",
            "DSN KRAJAN",
            None,
            None,
            None,
        ),
        (
            "dtks",
            "D1",
            "DK1",
            "32010115057500",
            KK,
            "BUDI SANTOSO",
            1,
            d75,
            1,
            "3201010001",
            "JL MAWAR",
            None,
            None,
            None,
        ),
        # Two registries hold someone missing from Dukcapil under the same NIK.
        (
            "regsosek",
            "R3",
            "RK2",
            "3201021512050001",
            None,
            "Joko",
            1,
            dt.date(2005, 12, 15),
            1,
            "3201020001",
            "GG. MELATI",
            None,
            None,
            None,
        ),
        (
            "dtks",
            "D2",
            "DK2",
            "3201021512050001",
            None,
            "DJOKO",
            1,
            dt.date(2005, 12, 15),
            1,
            "3201020001",
            "GANG MELATI",
            None,
            None,
            None,
        ),
    ]
    raw = spark.createDataFrame(rows, RAW_SCHEMA)
    return raw.withColumn("uid", F.concat_ws(":", "sumber", "id_record"))


def _checked(spark: SparkSession) -> DataFrame:
    kec = spark.createDataFrame(KECAMATAN, "kode_kec string")
    records = nik.decode(standardise(_raw(spark)), "nik_asli", "nik", kec, 2025, female_offset=True)
    records = nik.decode(records, "kk_asli", "kk", kec, 2025, female_offset=False)
    return padan.padan(records)


def test_padan_statuses(spark: SparkSession) -> None:
    statuses = {r["uid"]: (r["status_padan"], r["uid_dukcapil"]) for r in _checked(spark).collect()}
    assert statuses["regsosek:R1"] == ("PADAN_AKTIF", f"dukcapil:{SITI_NIK}")
    # Ani holds her father's NIK: it exists, but the identity disagrees.
    assert statuses["regsosek:R2"] == ("TIDAK_PADAN", None)
    assert statuses["p3ke:P1"] == ("PADAN_TIDAK_AKTIF", f"dukcapil:{DEAD_NIK}")
    assert statuses["dtks:D1"] == ("NIK_TIDAK_VALID", None)
    assert statuses["regsosek:R3"] == ("TIDAK_PADAN", None)
    assert statuses[f"dukcapil:{DEAD_NIK}"] == ("PADAN_TIDAK_AKTIF", f"dukcapil:{DEAD_NIK}")
    assert statuses[f"dukcapil:{SITI_NIK}"] == ("PADAN_AKTIF", f"dukcapil:{SITI_NIK}")


def test_deterministic_pass_links_only_trusted_niks(spark: SparkSession) -> None:
    edges = padan.nik_edges(_checked(spark))
    expected = spark.createDataFrame(
        [
            ("regsosek:R1", f"dukcapil:{SITI_NIK}"),
            ("p3ke:P1", f"dukcapil:{DEAD_NIK}"),
            # Not in Dukcapil, but both registries agree on the person behind the NIK.
            ("dtks:D2", "regsosek:R3"),
        ],
        "uid_l string, uid_r string",
    )
    assert_df_equality(edges, expected, ignore_row_order=True, ignore_nullable=True)


def test_relasi_categories_on_a_four_source_example(spark: SparkSession) -> None:
    link = spark.createDataFrame(
        [
            ("dukcapil", "KK1", "F1"),
            ("regsosek", "r1", "F1"),
            ("p3ke", "p1", "F1"),
            ("dtks", "d1", "F1"),
            ("dtks", "d1b", "F1"),  # split over two DTKS families
            ("regsosek", "r2", "F2"),
            ("dtks", "d2", "F2"),
            ("p3ke", "p3", "F3"),
            ("dtks", "d4", "F4"),
            ("p3ke", "p5", "F5"),
            ("dtks", "d5", "F5"),
            ("dukcapil", "KK6", "F6"),  # Dukcapil only: not a DTSEN family
        ],
        "sumber string, id_keluarga string, dtsen_keluarga_id string",
    )
    out = family.relasi(link)
    expected = spark.createDataFrame(
        [("F1", "RPD"), ("F2", "RD"), ("F3", "P"), ("F4", "D"), ("F5", "PD")],
        "dtsen_keluarga_id string, relasi string",
    )
    assert_df_equality(out, expected, ignore_row_order=True, ignore_nullable=True)
    table = family.relasi_table(out.withColumn("x", F.lit(1)))
    assert [(r["relasi"], r["keluarga"], r["persen"]) for r in table.collect()] == [
        ("P", 1, 20.0),
        ("D", 1, 20.0),
        ("RD", 1, 20.0),
        ("PD", 1, 20.0),
        ("RPD", 1, 20.0),
    ]


def test_stable_ids_do_not_depend_on_order_and_hide_the_key(spark: SparkSession) -> None:
    keys = spark.createDataFrame([("dukcapil:3201014101800002",), ("regsosek:R1",)], "k string")
    first = keys.select(stable_id("P", F.col("k"), "salt").alias("id")).collect()
    again = keys.orderBy(F.desc("k")).select(stable_id("P", F.col("k"), "salt").alias("id"))
    assert sorted(r["id"] for r in first) == sorted(r["id"] for r in again.collect())
    assert all(r["id"].startswith("P") and len(r["id"]) == 17 for r in first)
    assert not any("3201014101800002" in r["id"] for r in first)
    other_salt = keys.select(stable_id("P", F.col("k"), "other").alias("id")).collect()
    assert {r["id"] for r in other_salt}.isdisjoint({r["id"] for r in first})


@pytest.mark.parametrize("secret", ["s", "a-32-byte-deployment-secret-0001", "k" * 100])
def test_hmac_in_spark_equals_rfc_2104(spark: SparkSession, secret: str) -> None:
    import hashlib
    import hmac

    keys = ["dukcapil:3201014101800002", "regsosek:R1", "", "é ü"]
    frame = spark.createDataFrame([(k,) for k in keys] + [(None,)], "k string")
    expected = [hmac.new(secret.encode(), k.encode(), hashlib.sha256).hexdigest() for k in keys]
    got = frame.select(hmac_sha256(F.col("k"), secret).alias("h")).collect()
    assert [r["h"] for r in got] == [*expected, None]


def test_pairwise_metrics(spark: SparkSession) -> None:
    # Truth: {a1, b1, c1} one person, {a2, b2} another. Prediction splits c1 off and
    # wrongly merges b2 into the first cluster.
    records = spark.createDataFrame(
        [
            ("P1", "T1", "a", "32"),
            ("P1", "T1", "b", "32"),
            ("P2", "T1", "c", "32"),
            ("P3", "T2", "a", "51"),
            ("P1", "T2", "b", "51"),
        ],
        "pred string, truth string, sumber string, provinsi string",
    )
    out = {
        (r["tingkat"], r["kelompok"]): (r["pasangan_prediksi"], r["pasangan_benar"], r["tp"])
        for r in evaluate.evaluate(records, "individu").collect()
    }
    assert out[("keseluruhan", "semua")] == (3, 4, 1)
    assert out[("pasangan_sumber", "a-b")] == (2, 2, 1)
    assert out[("pasangan_sumber", "b")] == (1, 0, 0)
    assert out[("provinsi", "32")] == (1, 3, 1)
    overall = [r for r in evaluate.evaluate(records, "x").collect() if r["kelompok"] == "semua"][0]
    assert abs(overall["presisi"] - 1 / 3) < 1e-9 and abs(overall["recall"] - 0.25) < 1e-9


def test_model_version_depends_on_parameters_only() -> None:
    from dtsen.io.linkage_artefacts import model_version

    model = {"linker_uid": "a1", "comparisons": [{"m_probability": 0.9}]}
    assert model_version(model) == model_version({**model, "linker_uid": "b2"})
    changed = {**model, "comparisons": [{"m_probability": 0.8}]}
    assert model_version(model) != model_version(changed)


def _blocking_table(spark: SparkSession) -> tuple[DataFrame, dict[str, str]]:
    """Six records: four SITI in kab 3310 (a block of 6 pairs), two others; one swapped
    date (12 March as 3 December) facing a record born on 3 December."""
    from linkage import model

    d = dt.date
    rows = [
        ("a", "SITI", "3310", d(1980, 3, 12), d(1980, 12, 3), "N1"),
        ("b", "SITI", "3310", d(1981, 1, 1), None, "N2"),
        ("c", "SITI", "3310", d(1982, 1, 1), None, None),
        ("d", "SITI", "3310", d(1980, 12, 3), None, None),
        ("e", "BUDI", "3310", d(1980, 12, 3), None, None),
        ("f", "SITI", "3311", d(1980, 12, 3), None, "N2"),
    ]
    frame = spark.createDataFrame(
        rows,
        "unique_id string, nama_kunci string, kode_kab string, tanggal_lahir date, "
        "tgl_tukar date, nik string",
    )
    rules = {
        "nik": "l.nik = r.nik",
        "nama_kab": "l.nama_kunci = r.nama_kunci AND l.kode_kab = r.kode_kab",
        "tgl_tukar_kab": "l.tgl_tukar = r.tanggal_lahir AND l.kode_kab = r.kode_kab",
    }
    flags = [F.lit(False).alias(f"{model.CAPPED}{name}") for name in rules]
    return frame.select("*", *flags), rules


def test_blocks_are_sized_per_rule_and_reported_without_personal_keys(spark) -> None:
    from linkage import model

    table, rules = _blocking_table(spark)
    sizes = model.blocks(table, rules)
    report = model.block_report(sizes, max_pairs=5, rules=rules)
    assert report["nama_kab"] == {
        "largest_block_pairs": 6,
        "largest_block_records": 4,
        "largest_block_key": "*|3310",
        "blocks_capped": 1,
        "pairs_capped": 6,
    }
    assert report["nik"]["largest_block_pairs"] == 1
    assert report["nik"]["largest_block_key"] == "*"
    # a's swapped date meets d's and e's birth date in 3310: 1 left record x 2 right.
    assert report["tgl_tukar_kab"]["largest_block_pairs"] == 2
    assert report["tgl_tukar_kab"]["largest_block_key"] == "1980-12-03|3310"
    assert report["tgl_tukar_kab"]["blocks_capped"] == 0

    flagged = model.capped(table, sizes, 5, rules)
    big = {r["unique_id"] for r in flagged.where(f"{model.CAPPED}nama_kab").collect()}
    assert big == {"a", "b", "c", "d"}
    assert flagged.where(f"{model.CAPPED}nik OR {model.CAPPED}tgl_tukar_kab").isEmpty()
    assert flagged.count() == table.count()


def test_the_largest_block_of_a_tie_is_the_same_in_any_row_order(spark) -> None:
    """Two swapped dates of one kab make blocks of equal size: the key breaks the tie
    (a drill's re-link once reported the other one)."""
    from linkage import model

    rules = {"tgl_tukar_kab": "l.tgl_tukar = r.tanggal_lahir AND l.kode_kab = r.kode_kab"}
    rows = [("tgl_tukar_kab", "2000-05-08|3207", 4, 3), ("tgl_tukar_kab", "2000-08-05|3207", 4, 3)]
    schema = "rule string, kunci string, records long, pairs long"
    for order in (rows, rows[::-1]):
        sizes = spark.createDataFrame(order, schema).repartition(2)
        report = model.block_report(sizes, max_pairs=10, rules=rules)["tgl_tukar_kab"]
        assert report["largest_block_key"] == "2000-08-05|3207"
        assert (report["largest_block_pairs"], report["largest_block_records"]) == (3, 4)


def test_dtks_family_fields_come_from_the_head_whatever_the_row_order(spark) -> None:
    """Member lines that disagree on a family field: the head's value, or, where the
    head's is empty, the smallest member's; the same for any row order."""
    from delivery.variables import DTKS_INDICATORS
    from linkage.pipeline import dtks_families

    indicators = list(DTKS_INDICATORS)
    columns = ["ID_DTKS", "ID_KELUARGA", "HUB_KEL", "NOKK", "KODE_WILAYAH", *indicators]

    def line(id_dtks: str, hub: str, kk: str | None, d1: str | None) -> tuple:
        return (id_dtks, "F1", hub, kk, "3201", d1, *["0"] * (len(indicators) - 1))

    lines = [
        line("M3", "3", "KK-B", "0"),
        line("M1", "1", "KK-A", None),
        line("M2", "4", None, "1"),
    ]
    expected = spark.createDataFrame(
        [("F1", "KK-A", "3201", "1", *["0"] * (len(indicators) - 1))],
        ["ID_KELUARGA", "NOKK", "KODE_WILAYAH", *indicators],
    )
    for order in (lines, lines[::-1]):
        frame = spark.createDataFrame(order, columns).repartition(3)
        assert_df_equality(dtks_families(frame), expected, ignore_nullable=True)
