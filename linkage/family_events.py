"""Families across an update: new KK numbers are splits, moves or new families.

A family's ID is looked up by its KK in ``gold/link_keluarga``; only a KK number the
register has never seen needs a decision. Its members vote for the family they belonged
to in the previous period (the head's vote counts twice, ties go to the smaller ID):

- the family they came from still holds one of its KKs: the members split off, so the
  new KK gets a new ID, logged ``PISAH`` from the old one (the family that keeps the
  head keeps its ID: the head's KK is the one still held);
- the family's every KK is gone (a move or a reissued KK): the new KK takes the
  family's ID, no event, because the family is the same; if several new KKs claim it,
  the strongest vote takes it and the others split off;
- no member belonged to a family: a new family, ``BARU``.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from linkage import registry


def new_kk_families(
    link_keluarga: DataFrame,
    anchors: DataFrame,
    previous_family: DataFrame,
    periode: str,
    salt: str,
) -> tuple[DataFrame, DataFrame]:
    """``gold/link_keluarga`` rows for the KKs first seen in this extract, and their log.

    Args:
        link_keluarga: the registry so far (``sumber``, ``id_keluarga``, ``dtsen_keluarga_id``).
        anchors: the new extract's active Dukcapil records (``dtsen_individu_id``,
            ``id_keluarga`` = KK, ``hubungan``).
        previous_family: ``dtsen_individu_id``, ``dtsen_keluarga_id`` as of the previous
            period (merged IDs already mapped to their survivors).
    """
    known = link_keluarga.where(F.col("sumber") == "dukcapil").select(
        F.col("id_keluarga").alias("kk"), "dtsen_keluarga_id"
    )
    current = anchors.select(F.col("id_keluarga").alias("kk")).distinct()
    fresh = current.join(known, "kk", "left_anti")
    votes = (
        anchors.join(fresh.withColumnRenamed("kk", "id_keluarga"), "id_keluarga", "left_semi")
        .join(previous_family, "dtsen_individu_id")
        .groupBy(F.col("id_keluarga").alias("kk"), "dtsen_keluarga_id")
        .agg(F.sum(F.when(F.col("hubungan") == 1, 2).otherwise(1)).alias("suara"))
    )
    best = Window.partitionBy("kk").orderBy(F.desc("suara"), "dtsen_keluarga_id")
    claims = votes.withColumn("_r", F.row_number().over(best)).where("_r = 1").drop("_r")
    held = known.join(current, "kk", "left_semi").select("dtsen_keluarga_id").distinct()
    # Among new KKs claiming a family none of whose KKs is held, the strongest takes it.
    taker = Window.partitionBy("dtsen_keluarga_id").orderBy(F.desc("suara"), "kk")
    ranked = (
        claims.join(held.withColumn("_held", F.lit(True)), "dtsen_keluarga_id", "left")
        .withColumn("_order", F.row_number().over(taker))
        .withColumn("_takes", F.col("_held").isNull() & (F.col("_order") == 1))
    )
    minted = registry.family_id(F.concat(F.lit("dukcapil:"), F.col("kk")), salt)
    decided = fresh.join(ranked, "kk", "left").select(
        "kk",
        F.col("dtsen_keluarga_id").alias("_asal"),
        F.when(F.col("_takes"), F.col("dtsen_keluarga_id")).otherwise(minted).alias("id_baru"),
        F.when(F.col("_takes"), F.lit(None).cast("string"))
        .when(F.col("dtsen_keluarga_id").isNotNull(), registry.PISAH)
        .otherwise(registry.BARU)
        .alias("_peristiwa"),
    )
    rows = decided.select(
        F.lit("dukcapil").alias("sumber"),
        F.col("kk").alias("id_keluarga"),
        F.col("id_baru").alias("dtsen_keluarga_id"),
    )
    evidence = decided.withColumn("sumber_bukti", F.lit("dukcapil"))
    log = registry.events(
        evidence.where(F.col("_peristiwa") == registry.PISAH),
        periode,
        "keluarga",
        registry.PISAH,
        id_lama="_asal",
    ).unionByName(
        registry.events(
            evidence.where(F.col("_peristiwa") == registry.BARU), periode, "keluarga", registry.BARU
        )
    )
    return rows, log


def inherited(families: DataFrame, splits: DataFrame) -> DataFrame:
    """Rows for families split off in this update, carrying their origin's golden values
    until a ground check observes them (``sumber_variabel`` says ``pisah:<origin>``).

    Args:
        families: golden families (``gold/keluarga`` shape).
        splits: ``id_lama`` (origin), ``id_baru`` (the split-off family).
    """
    origin = families.join(
        splits.withColumnRenamed("id_lama", "dtsen_keluarga_id"), "dtsen_keluarga_id"
    )
    provenance = F.transform_values(
        "sumber_variabel", lambda _k, _v: F.concat(F.lit("pisah:"), F.col("dtsen_keluarga_id"))
    )
    return (
        origin.withColumn("sumber_variabel", provenance)
        .withColumn("dtsen_keluarga_id", F.col("id_baru"))
        .drop("id_baru")
        .select(*families.columns)
    )
