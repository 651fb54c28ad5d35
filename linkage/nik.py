"""NIK and No_KK checks and decoding (``shared/reference/domain.md`` sections 1-2).

NIK = prov(2) kab(2) kec(2) + birth date DDMMYY (+40 on the day for women) + serial(4).
No_KK = prov(2) kab(2) kec(2) + issue date DDMMYY + serial(4).

The region prefix is checked against ``referensi/wilayah``: its 7-digit BPS kecamatan
codes end in 0 (010, 020, ...), so the NIK's 6-digit prefix + ``0`` is a kecamatan code.
The century of a 2-digit year is the latest that is not after the reference year
(python-stdnum's rule, turned around so that 01 means 2001 for a child).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from delivery.numbers import clean_number

# Failure reasons, in the order they are checked.
MISSING, LENGTH, NOT_DIGITS, REGION, DATE, SERIAL = (
    "KOSONG",
    "PANJANG",
    "BUKAN_ANGKA",
    "WILAYAH",
    "TANGGAL",
    "SERIAL",
)


def _date_part(number: Column, reference_year: int, female_offset: bool) -> tuple[Column, Column]:
    day = F.substring(number, 7, 2).try_cast("int")
    month = F.substring(number, 9, 2).try_cast("int")
    yy = F.substring(number, 11, 2).try_cast("int")
    year = F.when(yy + 2000 <= reference_year, yy + 2000).otherwise(yy + 1900)
    sex = F.when(day > 40, F.lit(2)).otherwise(F.lit(1)) if female_offset else F.lit(None)
    real_day = F.when(day > 40, day - 40).otherwise(day) if female_offset else day
    # make_date fails on 31 February under ANSI; parsing the text gives null instead.
    text = F.format_string("%04d-%02d-%02d", year, month, real_day)
    return F.try_to_date(text, "yyyy-MM-dd"), sex


def decode(
    df: DataFrame,
    column: str,
    prefix: str,
    kecamatan: DataFrame,
    reference_year: int,
    *,
    female_offset: bool,
) -> DataFrame:
    """Add ``<prefix>`` (cleaned), ``<prefix>_alasan`` (first failure or null),
    ``<prefix>_tanggal`` (decoded date) and, for NIKs, ``<prefix>_jk`` (decoded sex).

    Args:
        df: records with the number in ``column``.
        column: the NIK or KK column.
        prefix: output column prefix, e.g. ``nik`` or ``kk``.
        kecamatan: one column ``kode_kec`` (7-digit codes), small: it is broadcast.
        reference_year: year of the delivery, for the century of 2-digit years.
        female_offset: NIKs add 40 to the day for women; KK numbers do not.
    """
    number = clean_number(F.col(column))
    codes = F.broadcast(kecamatan.select(F.col("kode_kec").alias(f"_{prefix}_kec")).distinct())
    out = df.withColumn(prefix, number).join(
        codes,
        F.concat(F.substring(F.col(prefix), 1, 6), F.lit("0")) == F.col(f"_{prefix}_kec"),
        "left",
    )
    born, sex = _date_part(F.col(prefix), reference_year, female_offset)
    reason = (
        F.when(F.col(prefix).isNull(), F.lit(MISSING))
        .when(F.length(prefix) != 16, F.lit(LENGTH))
        .when(~F.col(prefix).rlike("^[0-9]{16}$"), F.lit(NOT_DIGITS))
        .when(F.col(f"_{prefix}_kec").isNull(), F.lit(REGION))
        .when(born.isNull(), F.lit(DATE))
        .when(F.substring(prefix, 13, 4) == "0000", F.lit(SERIAL))
    )
    valid_digits = F.col(prefix).rlike("^[0-9]{16}$")
    out = out.withColumn(f"{prefix}_alasan", reason).withColumn(
        f"{prefix}_tanggal", F.when(valid_digits, born)
    )
    if female_offset:
        out = out.withColumn(f"{prefix}_jk", F.when(valid_digits & born.isNotNull(), sex))
    return out.drop(f"_{prefix}_kec")
