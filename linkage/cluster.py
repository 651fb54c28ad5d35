"""From scored pairs to persons: connected components with one Dukcapil anchor each.

Plain connected components chain: one wrong edge merges two people, and a shared NIK
can merge a whole family. Active Dukcapil records are distinct people by definition
("anchors"), so a component holding two anchors is wrong somewhere. Such components
are re-clustered by single best links: every non-anchor record keeps only its
strongest edge (ties broken by the neighbour's id), anchors keep none, so each new
component is a tree with at most one anchor at its root.

Each cluster names its founder: the node first by ``urutan`` (the caller's precedence,
e.g. an active Dukcapil record before a registry record), then by id. The caller mints a
new person's ID from its founder once (``linkage.registry``) and looks it up ever after,
so a record that joins later never changes the ID.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from splink.clustering import cluster_pairwise_predictions_at_threshold

NIK = "nik"
PROBABILISTIC = "probabilistik"
SINGLE = "tunggal"


def _components(db_api: Any, nodes: DataFrame, edges: DataFrame) -> DataFrame:
    """Connected components (Splink's iterative algorithm on Spark).

    Inputs are checkpointed first: every iteration refers back to them, and with the
    linkage's whole lineage behind them the query plans would grow out of memory.
    """
    clusters = cluster_pairwise_predictions_at_threshold(
        nodes.select("unique_id").checkpoint(),
        edges.select("uid_l", "uid_r", "match_probability").checkpoint(),
        db_api,
        node_id_column_name="unique_id",
        edge_id_column_name_left="uid_l",
        edge_id_column_name_right="uid_r",
        threshold_match_probability=0.0,
    )
    return clusters.as_spark_dataframe().select("unique_id", "cluster_id")


def _best_links(edges: DataFrame, anchors: DataFrame) -> DataFrame:
    """Each non-anchor node's strongest edge (either direction), as ``uid_l`` -> ``uid_r``."""
    columns = ("match_probability", "metode")
    both = edges.select(F.col("uid_l").alias("node"), F.col("uid_r").alias("other"), *columns)
    both = both.unionByName(
        edges.select(F.col("uid_r").alias("node"), F.col("uid_l").alias("other"), *columns)
    )
    both = both.join(anchors.select(F.col("unique_id").alias("node")), "node", "left_anti")
    # Strongest first; the neighbour's id breaks ties so the choice is deterministic.
    order = Window.partitionBy("node").orderBy(F.desc("match_probability"), "other")
    best = both.withColumn("_rank", F.row_number().over(order)).where("_rank = 1")
    return best.select(F.col("node").alias("uid_l"), F.col("other").alias("uid_r"), *columns)


def cluster_persons(db_api: Any, nodes: DataFrame, edges: DataFrame) -> DataFrame:
    """Cluster the nodes into persons, each named by its founder.

    Args:
        db_api: Splink's ``SparkAPI`` (its connected components run on Spark).
        nodes: ``unique_id``, ``anchor`` (an active Dukcapil record), ``urutan`` (int:
            the lower, the likelier to found the cluster).
        edges: ``uid_l``, ``uid_r``, ``match_probability``, ``metode`` (already at or
            above the match threshold; deterministic NIK edges have probability 1).

    Returns:
        ``unique_id``, ``pendiri`` (the cluster's founder), ``match_probability`` (the record's
        strongest kept edge; null for singletons), ``metode`` (``nik``,
        ``probabilistik`` or ``tunggal``).
    """
    first = _components(db_api, nodes, edges)
    anchors = nodes.where("anchor").select("unique_id")
    per_cluster = first.join(anchors.withColumn("_a", F.lit(1)), "unique_id", "left")
    conflicted = (
        per_cluster.groupBy("cluster_id").agg(F.sum("_a").alias("_anchors")).where("_anchors > 1")
    )
    conflicted_nodes = first.join(conflicted, "cluster_id", "left_semi").select("unique_id")
    left_in = edges.join(
        conflicted_nodes.withColumnRenamed("unique_id", "uid_l"), "uid_l", "left_semi"
    )
    inside = left_in.join(
        conflicted_nodes.withColumnRenamed("unique_id", "uid_r"), "uid_r", "left_semi"
    )
    outside = edges.join(
        conflicted_nodes.withColumnRenamed("unique_id", "uid_l"), "uid_l", "left_anti"
    )
    kept_edges = outside.unionByName(_best_links(inside, anchors))
    final = _components(db_api, nodes, kept_edges)

    ids = (
        final.join(nodes.select("unique_id", "urutan"), "unique_id")
        .groupBy("cluster_id")
        .agg(
            F.min(F.struct("urutan", "unique_id")).getField("unique_id").alias("pendiri"),
            F.count(F.lit(1)).alias("_size"),
        )
    )
    endpoints = kept_edges.select(
        F.col("uid_l").alias("unique_id"), "match_probability", "metode"
    ).unionByName(
        kept_edges.select(F.col("uid_r").alias("unique_id"), "match_probability", "metode")
    )
    per_node = endpoints.groupBy("unique_id").agg(
        F.max("match_probability").alias("match_probability"),
        F.max(F.when(F.col("metode") == NIK, 1).otherwise(0)).alias("_nik"),
    )
    return (
        final.join(ids, "cluster_id")
        .join(per_node, "unique_id", "left")
        .select(
            "unique_id",
            "pendiri",
            F.when(F.col("_size") > 1, F.col("match_probability")).alias("match_probability"),
            F.when(F.col("_size") == 1, F.lit(SINGLE))
            .when(F.col("_nik") == 1, F.lit(NIK))
            .otherwise(F.lit(PROBABILISTIC))
            .alias("metode"),
        )
    )
