"""Standardisers on hand-written Indonesian names, dates and addresses."""

from __future__ import annotations

import datetime as dt

from chispa import assert_column_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from linkage.standardise import (
    day_month_swapped,
    is_default_date,
    name_key,
    with_address,
    with_name_tokens,
)


def test_name_tokens(spark: SparkSession) -> None:
    cases = [
        ("H. Moch. Djoko Santoso, S.Pd.", ["MUHAMMAD", "JOKO", "SANTOSO"]),
        ("MUHAMAD JOKO SANTOSO", ["MUHAMMAD", "JOKO", "SANTOSO"]),
        ("Hj. Siti Aminah (Alm)", ["SITI", "AMINAH"]),
        ("DRS. I WAYAN SUDARMA M.SI", ["I", "WAYAN", "SUDARMA"]),
        ("Ni Md. Ayu", ["NI", "MADE", "AYU"]),
        ("Abd. Rachman", ["ABDUL", "RAKHMAN"]),
        ("Achmad Soekarno", ["AHMAD", "SUKARNO"]),
        ("A L I", ["ALI"]),
        ("BUDI BUDI", ["BUDI"]),
        ("Andi Baso Daeng", ["ANDI", "BASO", "DAENG"]),
        ("Dr.", ["DR"]),
        ("  ", None),
        (None, None),
    ]
    df = spark.createDataFrame(cases, "name string, expected array<string>")
    assert_column_equality(with_name_tokens(df, "name", "got"), "got", "expected")


def test_name_key_folds_spellings_and_order(spark: SparkSession) -> None:
    pairs = [
        ("Rizky Zaenal", "ZAINAL RISKI"),
        ("Arief Hidajat", "Arif Hidayat"),
        ("Eddy Chairul", "Edi Khairul"),
        ("Tjahjono", "Cahyono"),
        ("Syaiful Rachmat", "Saiful Rahmat"),
    ]
    df = spark.createDataFrame(pairs, "a string, b string")
    df = with_name_tokens(with_name_tokens(df, "a", "ta"), "b", "tb")
    keys = df.select(name_key(F.col("ta")).alias("a"), name_key(F.col("tb")).alias("b"))
    assert_column_equality(keys, "a", "b")


def test_default_and_swapped_dates(spark: SparkSession) -> None:
    df = spark.createDataFrame(
        [
            (dt.date(1980, 1, 1), True, None),
            (dt.date(1980, 12, 31), True, None),
            (dt.date(1980, 3, 7), False, dt.date(1980, 7, 3)),
            (dt.date(1980, 5, 5), False, None),
            (dt.date(1980, 3, 25), False, None),
        ],
        "born date, default boolean, swapped date",
    )
    out = df.withColumn("d", is_default_date(F.col("born"))).withColumn(
        "s", day_month_swapped(F.col("born"))
    )
    assert_column_equality(out, "d", "default")
    assert_column_equality(out, "s", "swapped")


def test_address_parts(spark: SparkSession) -> None:
    rows = [
        ("JLN. IMAM BONJOL NO. 6 RT 003 RW 010", "JL IMAM BONJOL NO 6", 3, 10),
        ("Jalan Imam Bonjol No 6 RT.3 RW.10", "JL IMAM BONJOL NO 6", 3, 10),
        ("DSN SUMBERSARI 003/002", "DSN SUMBERSARI", 3, 2),
        ("Gang Melati II No. 5 RT 03/RW 02", "GG MELATI II NO 5", 3, 2),
        ("DUSUN KRAJAN", "DSN KRAJAN", None, None),
        (None, None, None, None),
    ]
    df = spark.createDataFrame(rows, "a string, alamat string, rt int, rw int")
    parts = with_address(df, "a", "got")
    for field, got in (("alamat", "got"), ("rt", "got_rt"), ("rw", "got_rw")):
        assert_column_equality(parts, got, field)
