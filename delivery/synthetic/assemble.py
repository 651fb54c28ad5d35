"""From generated chunks to the delivered tables, as Spark DataFrames.

Chunks come from :func:`delivery.synthetic.population.generate_chunk` run in parallel with
``mapInPandas``. NIK and KK serials are then assigned across chunks with windows
partitioned by (region prefix, date), which makes every NIK and KK unique and
deterministic without a global sort. Every delivered table is a projection of the
wide person frame; CSV tables become text lines here (so dirt like a wrong column
count can be written at all) and are written by the job.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from delivery.synthetic.names import NameBook
from delivery.synthetic.population import (
    BAD_ROW,
    KK_KIND,
    NIK_DIRT,
    SUSENAS_CHUNK_OFFSET,
    ChunkContext,
    generate_chunk,
)

_DATE_COLUMNS = {"tanggal_lahir"}


def spark_schema(frame: pd.DataFrame) -> T.StructType:
    """Spark schema of a generated chunk, from its pandas dtypes."""
    fields = []
    for name, dtype in frame.dtypes.items():
        if name in _DATE_COLUMNS:
            kind: T.DataType = T.DateType()
        elif dtype == np.bool_:
            kind = T.BooleanType()
        elif dtype == np.int32:
            kind = T.IntegerType()
        elif dtype == np.int64:
            kind = T.LongType()
        elif dtype == np.float64:
            kind = T.DoubleType()
        else:
            kind = T.StringType()
        fields.append(T.StructField(str(name), kind, True))
    return T.StructType(fields)


def chunk_plan(total: int, per_chunk: int, offset: int = 0) -> list[tuple[int, int]]:
    """(chunk id, persons) pairs splitting ``total`` persons into chunks of ``per_chunk``."""
    n = max(1, -(-total // per_chunk))
    base, extra = divmod(total, n)
    return [(offset + i, base + (1 if i < extra else 0)) for i in range(n)]


def generate(spark: SparkSession, ctx: ChunkContext, plan: list[tuple[int, int]]) -> DataFrame:
    """Run the chunk generator on Spark: one task per chunk, output schema from a probe."""
    book = NameBook()
    probe = generate_chunk(plan[0][0], min(plan[0][1], 40), ctx, book)
    schema = spark_schema(probe)
    columns = list(schema.names)

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        names = NameBook()
        for batch in batches:
            for chunk_id, persons in zip(batch["chunk"], batch["persons"], strict=True):
                frame = generate_chunk(int(chunk_id), int(persons), ctx, names)
                yield frame[columns]

    plan_df = spark.createDataFrame(pd.DataFrame(plan, columns=["chunk", "persons"]))
    return plan_df.repartition(len(plan), "chunk").mapInPandas(run, schema)


def susenas_plan(households: int, per_chunk: int) -> list[tuple[int, int]]:
    """Susenas chunks, sized in persons (about 3.1 per household), with their own ids."""
    return chunk_plan(int(households * 3.1), per_chunk * 3, SUSENAS_CHUNK_OFFSET)


def population(
    spark: SparkSession, ctx: ChunkContext, individuals: int, families_per_chunk: int
) -> DataFrame:
    """The registry population with identifiers and family context, persisted on disk.

    Generated once: the identifier windows and the table builders read it several
    times. The caller unpersists it when the delivery is written.
    """
    per_chunk = int(families_per_chunk * 3.07)
    raw = generate(spark, ctx, chunk_plan(individuals, per_chunk)).persist(StorageLevel.DISK_ONLY)
    raw.count()
    pop = family_context(assign_identifiers(raw)).persist(StorageLevel.DISK_ONLY)
    pop.count()
    raw.unpersist()
    return pop


def survey(
    spark: SparkSession, ctx: ChunkContext, households: int, families_per_chunk: int
) -> DataFrame:
    """The Susenas sample's households, persisted on disk (the caller unpersists it)."""
    plan = susenas_plan(households, families_per_chunk)
    return generate(spark, ctx, plan).persist(StorageLevel.DISK_ONLY)


# ----------------------------------------------------------------------- identifiers


def serials(holders: DataFrame, key_cols: list[str], after: Column | None = None) -> DataFrame:
    """Number holders 0001.. within each (prefix, date) so numbers are unique.

    ``row_number`` over a window partitioned by the 12-digit prefix: groups are small
    (people born on one day in one kecamatan), so no partition is skewed; the order
    ends in the holder's unique key, so the numbering is deterministic. ``after``, the
    highest serial already issued in the holder's group, makes the numbering continue
    after it (new NIKs and KKs of a later period never reuse an earlier one's).
    """
    window = Window.partitionBy("prefix", "dt").orderBy(*key_cols)
    serial = F.row_number().over(window)
    if after is not None:
        serial = serial + F.coalesce(after, F.lit(0))
    return holders.withColumn(
        "number", F.concat("prefix", "dt", F.lpad(serial.cast("string"), 4, "0"))
    )


def assign_identifiers(pop: DataFrame) -> DataFrame:
    """Add ``nik``, ``nik_ganda`` (retired duplicate), and the family's KK numbers."""
    active = pop.select(
        "person_key",
        F.lit(0).alias("kind"),
        F.col("nik_prefix").alias("prefix"),
        F.col("nik_date").alias("dt"),
    )
    ganda = pop.where("has_ganda").select(
        "person_key",
        F.lit(1).alias("kind"),
        F.col("ganda_prefix").alias("prefix"),
        F.col("nik_date").alias("dt"),
    )
    niks = serials(active.unionByName(ganda), ["person_key", "kind"])
    nik = niks.where("kind = 0").select("person_key", F.col("number").alias("nik"))
    nik_ganda = niks.where("kind = 1").select("person_key", F.col("number").alias("nik_ganda"))

    heads = pop.where("position = 0").select(
        "family_id", "kk_prefix", "kk_date", "kk_old_date", "kk_split_date"
    )
    kk_holders = None
    for kind, column in ((1, "kk_date"), (2, "kk_old_date"), (3, "kk_split_date")):
        part = heads.select(
            "family_id",
            F.lit(kind).alias("kind"),
            F.col("kk_prefix").alias("prefix"),
            F.col(column).alias("dt"),
        )
        kk_holders = part if kk_holders is None else kk_holders.unionByName(part)
    kks = (
        serials(kk_holders, ["family_id", "kind"])
        .groupBy("family_id")
        .agg(
            *[
                F.max(F.when(F.col("kind") == k, F.col("number"))).alias(name)
                for k, name in ((1, "no_kk"), (2, "no_kk_lama"), (3, "no_kk_pecah"))
            ]
        )
    )
    return pop.join(nik, "person_key").join(nik_ganda, "person_key", "left").join(kks, "family_id")


def family_context(pop: DataFrame) -> DataFrame:
    """Add the family head's NIK and the second member's (donors of shared NIKs)."""
    window = (
        Window.partitionBy("family_id")
        .orderBy("position")
        .rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)
    )
    return pop.withColumn("nik_kepala", F.first("nik").over(window)).withColumn(
        "nik_kedua", F.nth_value("nik", 2).over(window)
    )


def written_nik(s: str) -> Column:
    """The NIK as source ``s`` wrote it, per the person's NIK dirt code for that source."""
    code, u, nik = F.col(f"nik_dirt_{s}"), F.col(f"nik_u_{s}"), F.col("nik")
    letter_pos = (F.floor(u * 16) + 1).cast("int")
    # A slipped digit in the birth date or serial (positions 7-16): d -> (d + 1) mod 10.
    typo_pos = (F.floor(u * 10) + 7).cast("int")
    slipped = F.expr(
        f"cast((cast(substring(nik, cast(floor(nik_u_{s} * 10) + 7 as int), 1) as int) + 1)"
        " % 10 as string)"
    )
    d = {name: i for i, name in enumerate(NIK_DIRT)}
    return (
        F.when(code == d["nik_missing"], F.lit(None))
        .when(
            code == d["nik_wrong_length"],
            F.when(u < 0.5, F.substring(nik, 1, 15)).otherwise(F.concat(nik, F.lit("0"))),
        )
        .when(
            code == d["nik_letters"],
            F.overlay(nik, F.when(u < 0.5, "O").otherwise("I"), letter_pos, F.lit(1)),
        )
        .when(
            code == d["nik_bad_prefix"],
            F.overlay(nik, F.when(u < 0.5, "00").otherwise("99"), F.lit(1), F.lit(2)),
        )
        .when(
            code == d["nik_impossible_date"],
            F.when(u < 0.5, F.overlay(nik, F.lit("13"), F.lit(9), F.lit(2))).otherwise(
                F.overlay(nik, F.lit("35"), F.lit(7), F.lit(2))
            ),
        )
        .when(code == d["nik_digit_typo"], F.overlay(nik, slipped, typo_pos, F.lit(1)))
        .when(
            code == d["nik_shared_in_family"],
            F.when(F.col("position") == 0, F.col("nik_kedua")).otherwise(F.col("nik_kepala")),
        )
        .when(code == d["nik_old_ganda"], F.col("nik_ganda"))
        .otherwise(nik)
    )


def written_kk(s: str) -> Column:
    kind = F.col(f"kk_kind_{s}")
    return (
        F.when(kind == KK_KIND["main"], F.col("no_kk"))
        .when(kind == KK_KIND["old"], F.col("no_kk_lama"))
        .when(kind == KK_KIND["split"], F.col("no_kk_pecah"))
    )


# ------------------------------------------------------------------------- CSV lines


def _quoted(value: Column, sep: str) -> Column:
    text = F.coalesce(value.cast("string"), F.lit(""))
    needs = text.contains(sep) | text.contains('"') | text.contains("\n")
    return F.when(
        needs, F.concat(F.lit('"'), F.regexp_replace(text, '"', '""'), F.lit('"'))
    ).otherwise(text)


def csv_lines(
    df: DataFrame,
    columns: dict[str, Column],
    sep: str,
    s: str,
    numeric: str,
    code: str,
) -> DataFrame:
    """One text line per record, the header as the column name; dirt applied per row.

    ``bad_<s>`` selects malformed rows: an extra field (wrong column count), text in
    the ``numeric`` column, or an out-of-range value in the ``code`` column;
    ``dup_<s>`` rows are written twice.
    """
    bad = F.col(f"bad_{s}")
    values = []
    for name, column in columns.items():
        column = column.cast("string")
        if name == numeric:
            column = F.when(bad == BAD_ROW["text_in_number"], F.lit("dua")).otherwise(column)
        if name == code:
            column = F.when(bad == BAD_ROW["code_out_of_range"], F.lit("97")).otherwise(column)
        values.append(_quoted(column, sep))
    line = F.concat_ws(sep, *values)
    line = F.when(bad == BAD_ROW["column_count"], F.concat(line, F.lit(sep + "X"))).otherwise(line)
    header = sep.join(columns)
    rows = df.select(line.alias(header), F.col(f"dup_{s}").alias("_dup"))
    return rows.unionByName(rows.where("_dup")).select(header)


def yes_no(flag: str) -> Column:
    return F.col(flag).cast("int").cast("string")


def nullable_code(name: str) -> Column:
    """Codes that are 0 in the generator but empty in the delivery (not applicable)."""
    return F.when(F.col(name) != 0, F.col(name).cast("string"))
