"""Synthetic delivery: determinism, population structure, identifiers, dirt, contract."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from chispa import assert_column_equality, assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from delivery.synthetic.assemble import (
    assign_identifiers,
    chunk_plan,
    csv_lines,
    family_context,
    generate,
    written_nik,
)
from delivery.synthetic.context import build_context
from delivery.synthetic.names import NameBook, write_name
from delivery.synthetic.population import COMBOS, NIK_DIRT, generate_chunk
from delivery.synthetic.reference import build_regions
from dtsen.config import Config, load_config


@pytest.fixture(scope="module")
def gen_cfg():
    return load_config(None).generate


@pytest.fixture(scope="module")
def context(gen_cfg):
    regions = build_regions(gen_cfg.seed, gen_cfg.poverty_line, gen_cfg.log_pce_sd)
    return build_context(gen_cfg, regions)


@pytest.fixture(scope="module")
def big_chunk(context) -> pd.DataFrame:
    return generate_chunk(7, 20000, context, NameBook())


def test_regions_have_the_national_shape(gen_cfg) -> None:
    regions = build_regions(gen_cfg.seed, gen_cfg.poverty_line, gen_cfg.log_pce_sd)
    levels = regions.wilayah["tingkat"].value_counts().to_dict()
    assert levels["prov"] == 38 and levels["kab"] == 514
    assert 6000 < levels["kec"] < 8500 and 70000 < levels["desa"] < 95000
    codes = regions.wilayah.set_index("tingkat")["kode"]
    assert codes["desa"].str.len().eq(10).all() and codes["kec"].str.len().eq(7).all()
    # Kecamatan codes are multiples of 10, so a NIK's 2-digit kecamatan is their prefix.
    assert codes["kec"].str[-1].eq("0").all()
    kota = codes["kab"].str[2:].astype(int) >= 71
    assert 80 <= kota.sum() <= 110


def test_chunks_are_deterministic(context) -> None:
    first = generate_chunk(3, 500, context, NameBook())
    again = generate_chunk(3, 500, context, NameBook())
    other = generate_chunk(4, 500, context, NameBook())
    pd.testing.assert_frame_equal(first, again)
    assert not first["nama"].equals(other["nama"])
    assert len(first) == 500


def test_families_have_one_head_and_realistic_size(big_chunk) -> None:
    heads = big_chunk[big_chunk["position"] == 0]
    assert (heads["hubungan_kk"] == 1).all()
    assert heads["family_id"].is_unique
    assert big_chunk.groupby("family_id")["hubungan_kk"].apply(lambda h: (h == 1).sum()).eq(1).all()
    assert 2.9 < len(big_chunk) / len(heads) < 3.3
    spouses = big_chunk[big_chunk["hubungan_kk"] == 2].merge(
        heads[["family_id", "jenis_kelamin"]], on="family_id", suffixes=("", "_head")
    )
    assert (spouses["jenis_kelamin"] != spouses["jenis_kelamin_head"]).all()


def test_nik_parts_encode_birth_date_and_sex(big_chunk) -> None:
    born = pd.to_datetime(big_chunk["tanggal_lahir"])
    day = big_chunk["nik_date"].str[:2].astype(int)
    women = big_chunk["jenis_kelamin"] == 2
    # A few NIKs were issued with the other sex's day encoding.
    assert (day[women] > 40).mean() > 0.99 and (day[~women] <= 31).mean() > 0.99
    agrees = (day - np.where(women, 40, 0) == born.dt.day) & (
        big_chunk["nik_date"].str[2:4].astype(int) == born.dt.month
    )
    # A few Dukcapil birth dates were corrected after the NIK was issued.
    assert 0.98 < agrees.mean() < 1.0


def test_source_coverage_matches_configuration(big_chunk, gen_cfg) -> None:
    families = big_chunk[big_chunk["position"] == 0]
    shares = families["coverage"].value_counts(normalize=True)
    assert set(shares.index) == set(COMBOS)
    assert abs(shares["RPD"] - gen_cfg.coverage.RPD) < 0.03
    in_dtks = families["coverage"].str.contains("D").mean()
    assert 0.45 < in_dtks < 0.56


def test_welfare_variables_follow_welfare(big_chunk) -> None:
    families = big_chunk[big_chunk["position"] == 0]
    poor = families["w"] < families["w"].quantile(0.2)
    rich = families["w"] > families["w"].quantile(0.8)
    assert families.loc[poor, "aset_mobil"].mean() < families.loc[rich, "aset_mobil"].mean() / 3
    assert families.loc[poor, "lantai"].eq(8).mean() > families.loc[rich, "lantai"].eq(8).mean()
    assert families.loc[poor, "pkh"].mean() > 5 * families.loc[rich, "pkh"].mean()


def test_name_dirt_kinds() -> None:
    book = NameBook()
    rng = np.random.default_rng(1)
    none = dict.fromkeys(
        [
            "name_token_missing",
            "name_token_swap",
            "name_muhammad_variant",
            "name_old_spelling",
            "name_typo",
            "name_title",
        ],
        0.0,
    )
    assert write_name(rng, book, "MUHAMMAD YUSUF HIDAYAT", none, True) == "MUHAMMAD YUSUF HIDAYAT"
    swapped = write_name(rng, book, "SITI AMINAH", {**none, "name_token_swap": 1.0}, False)
    assert swapped == "AMINAH SITI"
    dropped = write_name(rng, book, "AGUS BUDI SANTOSO", {**none, "name_token_missing": 1.0}, True)
    assert dropped == "AGUS BUDI"
    variant = write_name(rng, book, "MUHAMMAD YUSUF", {**none, "name_muhammad_variant": 1.0}, True)
    assert variant.split()[0] in {
        "M.",
        "MUHAMAD",
        "MOHAMAD",
        "MOH.",
        "MOHAMMAD",
        "MOCH.",
        "MOCHAMAD",
        "MUH.",
    }
    old = write_name(rng, book, "AHMAD YUSUF", {**none, "name_old_spelling": 1.0}, True)
    assert old in {"ACHMAD YUSUF", "AHMAD JUSUF"}
    titled = write_name(rng, book, "SRI WAHYUNI", {**none, "name_title": 1.0}, False)
    assert "SRI WAHYUNI" in titled and titled != "SRI WAHYUNI"
    typo = write_name(rng, book, "SUTRISNO", {**none, "name_typo": 1.0}, True)
    assert typo != "SUTRISNO" and abs(len(typo) - 8) <= 1


def test_identifiers_are_unique_and_encoded(spark: SparkSession, context) -> None:
    pop = family_context(assign_identifiers(generate(spark, context, chunk_plan(900, 300))))
    rows = pop.select(
        "nik",
        "nik_ganda",
        "nik_prefix",
        "nik_date",
        "no_kk",
        "no_kk_lama",
        "no_kk_pecah",
        "family_id",
        "kode_wilayah",
        "nik_kepala",
        "position",
    ).toPandas()
    assert len(rows) == 900
    assert rows["nik"].is_unique
    assert rows["nik"].str.fullmatch(r"[0-9]{16}").all()
    assert (rows["nik"].str[:6] == rows["nik_prefix"]).all()
    assert (rows["nik"].str[6:12] == rows["nik_date"]).all()
    assert (rows["nik"].str[12:] != "0000").all()
    ganda = rows["nik_ganda"].dropna()
    assert not set(ganda) & set(rows["nik"])
    heads = rows[rows["position"] == 0]
    kks = pd.concat([heads["no_kk"], heads["no_kk_lama"], heads["no_kk_pecah"]])
    assert kks.is_unique and kks.str.fullmatch(r"[0-9]{16}").all()
    assert (heads["no_kk"].str[:6] == heads["kode_wilayah"].str[:6]).all()
    assert (heads["nik"] == heads["nik_kepala"]).all()


def test_written_nik_applies_each_dirt_code(spark: SparkSession) -> None:
    d = {name: i for i, name in enumerate(NIK_DIRT)}
    nik = "3201014101800002"
    schema = T.StructType(
        [
            T.StructField("nik_dirt_r", T.IntegerType()),
            T.StructField("nik_u_r", T.DoubleType()),
            T.StructField("nik", T.StringType()),
            T.StructField("position", T.IntegerType()),
            T.StructField("nik_kepala", T.StringType()),
            T.StructField("nik_kedua", T.StringType()),
            T.StructField("nik_ganda", T.StringType()),
            T.StructField("expected", T.StringType()),
        ]
    )
    head, second, old = "3201010101750001", "3201014101800002", "3202014101800009"
    rows = [
        (d["clean"], 0.3, nik, 1, head, second, None, nik),
        (d["nik_missing"], 0.3, nik, 1, head, second, None, None),
        (d["nik_wrong_length"], 0.3, nik, 1, head, second, None, nik[:15]),
        (d["nik_wrong_length"], 0.7, nik, 1, head, second, None, nik + "0"),
        (d["nik_letters"], 0.0, nik, 1, head, second, None, "O" + nik[1:]),
        (d["nik_bad_prefix"], 0.7, nik, 1, head, second, None, "99" + nik[2:]),
        (d["nik_impossible_date"], 0.2, nik, 1, head, second, None, nik[:8] + "13" + nik[10:]),
        (d["nik_digit_typo"], 0.95, nik, 1, head, second, None, nik[:15] + "3"),
        (d["nik_shared_in_family"], 0.5, nik, 1, head, second, None, head),
        (d["nik_shared_in_family"], 0.5, head, 0, head, second, None, second),
        (d["nik_old_ganda"], 0.5, nik, 1, head, second, old, old),
    ]
    df = spark.createDataFrame(rows, schema).withColumn("written", written_nik("r"))
    assert_column_equality(df, "written", "expected")


def test_csv_lines_quote_and_inject_row_dirt(spark: SparkSession) -> None:
    df = spark.createDataFrame(
        [
            ("A1", "SITI, S.PD.", 2, 0, False),
            ("A2", 'SAID "UDIN"', 1, 1, False),
            ("A3", None, 3, 2, True),
        ],
        "id string, nama string, kode int, bad_r int, dup_r boolean",
    )
    lines = csv_lines(
        df, {"id": F.col("id"), "nama": F.col("nama"), "kode": F.col("kode")}, ",", "r", "kode", ""
    )
    expected = spark.createDataFrame(
        [('A1,"SITI, S.PD.",2',), ('A2,"SAID ""UDIN""",1,X',), ("A3,,dua",), ("A3,,dua",)],
        "`id,nama,kode` string",
    )
    assert_df_equality(lines, expected, ignore_row_order=True, ignore_nullable=True)


@pytest.mark.slow
def test_generated_delivery_follows_the_contract(
    spark: SparkSession, test_config: Config, small_delivery: Path
) -> None:

    out = small_delivery
    mapping = test_config.source_mapping()
    for name, spec in mapping.tables.items():
        parts = sorted((out / spec.path).glob("part-*"))
        assert parts, f"{spec.path} not written"
        if spec.format == "csv":
            header = parts[0].read_text(encoding="utf-8").splitlines()[0]
            assert header == spec.delimiter.join(spec.columns), name
    penduduk = spark.read.parquet(str(out / "dukcapil" / "penduduk"))
    assert dict(penduduk.dtypes) == {
        "NIK": "string",
        "NO_KK": "string",
        "NAMA_LGKP": "string",
        "JENIS_KLMIN": "int",
        "TMPT_LHR": "string",
        "TGL_LHR": "date",
        "STAT_HBKEL": "int",
        "STATUS_KAWIN": "int",
        "ALAMAT": "string",
        "NO_RT": "int",
        "NO_RW": "int",
        "KODE_WILAYAH": "string",
        "STATUS": "string",
    }
    # Exact figures of the seeded 1,500-person delivery.
    assert penduduk.where("STATUS = 'AKTIF'").count() == 1487
    assert penduduk.select("NIK").distinct().count() == penduduk.count()
    truth = spark.read.parquet(str(out / "_truth" / "individu"))
    assert truth.columns == ["sumber", "id_record", "person_id"]
    # A few people's Dukcapil records are missing from the extract.
    registered = truth.where("sumber = 'dukcapil'").select("person_id").distinct().count()
    assert registered == 1496


@pytest.mark.slow
def test_generated_delivery_ingests_with_full_accounting(
    spark: SparkSession, small_warehouse
) -> None:
    cfg, _, reports = small_warehouse
    by_table = {r.table: r for r in reports}
    assert all(r.balanced for r in reports)
    truth = spark.read.parquet(f"{cfg.input}/_truth/individu")
    regsosek = by_table["regsosek_individu"]
    delivered = truth.where("sumber = 'regsosek'").count()
    duplicates = regsosek.reasons.get("DUPLICATE_ROW", 0)
    # Every true record was read once, plus once more per duplicated line.
    assert regsosek.read == delivered + duplicates
    assert regsosek.accepted + regsosek.quarantined - duplicates == delivered
    assert (delivered, regsosek.read, regsosek.accepted, regsosek.quarantined) == (
        1245,
        1248,
        1245,
        3,
    )
    assert (regsosek.reasons, regsosek.nulled) == ({"DUPLICATE_ROW": 3}, {})
