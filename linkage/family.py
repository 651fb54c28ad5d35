"""From linked persons to families: each source family joins one Dukcapil KK by vote.

Linking families that merely share a member merges them wrongly: a person still listed
in a previous family (older registries) would merge two households, and every split or
stale KK would chain. Instead each registry family goes to the Dukcapil KK that holds
most of its linked members (the head's vote counts twice; ties go to the smaller KK
number), so a family split over two KKs in one source lands in one DTSEN family, and a
member who moved out does not drag the old family along. Registry families none of whose
members is in Dukcapil form families among themselves, by shared members.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from splink.clustering import cluster_pairwise_predictions_at_threshold

from linkage.ids import stable_id

REGISTRY_LETTER = {"regsosek": "R", "p3ke": "P", "dtks": "D"}
RELASI_ORDER = ("R", "P", "D", "RP", "RD", "PD", "RPD")


def _family_uid(sumber: F.Column, key: F.Column) -> F.Column:
    return F.concat_ws(":", sumber, key)


def assign_families(db_api: Any, persons: DataFrame, families: DataFrame, salt: str) -> DataFrame:
    """``sumber``, ``id_keluarga``, ``dtsen_keluarga_id`` for every source family.

    Args:
        db_api: Splink's ``SparkAPI`` (connected components for families without a KK).
        persons: one row per source person record: ``sumber``, ``id_keluarga``,
            ``hubungan``, ``dtsen_individu_id``, ``anchor`` (an active Dukcapil record).
        families: every source family ``sumber``, ``id_keluarga`` (including families
            whose members were all quarantined).
        salt: secret mixed into the IDs.
    """
    person_kk = (
        persons.where("anchor").groupBy("dtsen_individu_id").agg(F.min("id_keluarga").alias("kk"))
    )
    members = (
        persons.where(F.col("sumber") != "dukcapil")
        .select("sumber", "id_keluarga", "hubungan", "dtsen_individu_id")
        .join(person_kk, "dtsen_individu_id", "left")
    )
    votes = (
        members.where(F.col("kk").isNotNull())
        .groupBy("sumber", "id_keluarga", "kk")
        .agg(F.sum(F.when(F.col("hubungan") == 1, 2).otherwise(1)).alias("votes"))
    )
    # The head's vote counts twice; among equal votes the smaller KK wins.
    order = Window.partitionBy("sumber", "id_keluarga").orderBy(F.desc("votes"), "kk")
    voted = (
        votes.withColumn("_rank", F.row_number().over(order))
        .where("_rank = 1")
        .select("sumber", "id_keluarga", F.concat(F.lit("dukcapil:"), "kk").alias("anchor_key"))
    )
    kk_families = families.where(F.col("sumber") == "dukcapil").select(
        "sumber", "id_keluarga", F.concat(F.lit("dukcapil:"), "id_keluarga").alias("anchor_key")
    )
    registry = families.where(F.col("sumber") != "dukcapil")
    orphans = registry.join(voted, ["sumber", "id_keluarga"], "left_anti")
    orphan_uid = _family_uid(F.col("sumber"), F.col("id_keluarga"))
    nodes = orphans.select(orphan_uid.alias("unique_id"))
    in_orphans = members.join(orphans, ["sumber", "id_keluarga"], "left_semi").select(
        "dtsen_individu_id", _family_uid(F.col("sumber"), F.col("id_keluarga")).alias("fam")
    )
    edges = (
        in_orphans.alias("a")
        .join(in_orphans.alias("b"), "dtsen_individu_id")
        .where(F.col("a.fam") < F.col("b.fam"))
        .select(F.col("a.fam").alias("uid_l"), F.col("b.fam").alias("uid_r"))
        .distinct()
        .withColumn("match_probability", F.lit(1.0))
    )
    components = cluster_pairwise_predictions_at_threshold(
        # Checkpointed: each iteration refers back to them (see cluster._components).
        nodes.checkpoint(),
        edges.checkpoint(),
        db_api,
        node_id_column_name="unique_id",
        edge_id_column_name_left="uid_l",
        edge_id_column_name_right="uid_r",
        threshold_match_probability=0.0,
    ).as_spark_dataframe()
    grouped = components.groupBy("cluster_id").agg(F.min("unique_id").alias("anchor_key"))
    orphan_keys = (
        components.join(grouped, "cluster_id")
        .join(orphans.select("sumber", "id_keluarga", orphan_uid.alias("unique_id")), "unique_id")
        .select("sumber", "id_keluarga", "anchor_key")
    )
    assigned = kk_families.unionByName(voted).unionByName(orphan_keys)
    return assigned.select(
        "sumber",
        "id_keluarga",
        stable_id("K", F.col("anchor_key"), salt).alias("dtsen_keluarga_id"),
    )


def relasi(link_keluarga: DataFrame) -> DataFrame:
    """``dtsen_keluarga_id``, ``relasi``: the registries (R, P, D) a family was found in.

    Families found only in Dukcapil have no ``relasi`` and are not DTSEN families.
    """
    letters = F.create_map(*[F.lit(x) for pair in REGISTRY_LETTER.items() for x in pair])
    found = link_keluarga.where(F.col("sumber") != "dukcapil").select(
        "dtsen_keluarga_id", F.try_element_at(letters, F.col("sumber")).alias("letter")
    )
    present = found.groupBy("dtsen_keluarga_id").agg(F.collect_set("letter").alias("_set"))
    code = F.concat(
        *[F.when(F.array_contains("_set", letter), letter).otherwise("") for letter in "RPD"]
    )
    return present.select("dtsen_keluarga_id", code.alias("relasi"))


def relasi_table(families: DataFrame) -> DataFrame:
    """National relasi table: families and percentage per relasi, in the fixed order."""
    counts = families.groupBy("relasi").agg(F.count(F.lit(1)).alias("keluarga"))
    total = counts.agg(F.sum("keluarga").alias("_total"))
    order = F.array_position(F.array(*[F.lit(r) for r in RELASI_ORDER]), F.col("relasi"))
    return (
        counts.crossJoin(total)
        .withColumn("persen", F.round(F.col("keluarga") * 100.0 / F.col("_total"), 2))
        .orderBy(order)
        .select("relasi", "keluarga", "persen")
    )
