"""Pairwise precision, recall and F1 of a clustering against ground truth.

Pairs are never materialised: within a cluster of n records there are n(n-1)/2 pairs,
so every figure is a sum over groups. True positives are pairs in the same predicted
and the same true cluster: a sum over (predicted, true) groups. Per source pair (a, b)
the count of a group is n_a * n_b (or n_a(n_a-1)/2 when a = b); per province only pairs
of two records in that province count.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F


def _pairs(n: Column) -> Column:
    return n * (n - 1) / 2


def _pairs_by_dimension(df: DataFrame, clusters: list[str], dim: str, same_only: bool) -> DataFrame:
    counts = df.groupBy(*clusters, dim).agg(F.count(F.lit(1)).alias("n"))
    a, b = counts.alias("a"), counts.alias("b")
    on = [F.col(f"a.{c}") == F.col(f"b.{c}") for c in clusters]
    on.append(
        F.col(f"a.{dim}") == F.col(f"b.{dim}")
        if same_only
        else F.col(f"a.{dim}") <= F.col(f"b.{dim}")
    )
    joined = a.join(b, on)
    pairs = F.when(F.col(f"a.{dim}") == F.col(f"b.{dim}"), _pairs(F.col("a.n"))).otherwise(
        F.col("a.n") * F.col("b.n")
    )
    group = (
        F.col(f"a.{dim}")
        if same_only
        else F.when(F.col(f"a.{dim}") == F.col(f"b.{dim}"), F.col(f"a.{dim}")).otherwise(
            F.concat_ws("-", F.col(f"a.{dim}"), F.col(f"b.{dim}"))
        )
    )
    return joined.groupBy(group.alias("kelompok")).agg(F.sum(pairs).alias("pasangan"))


def pairwise_metrics(records: DataFrame, level: str, dim: str | None, same_only: bool) -> DataFrame:
    """Metrics for one breakdown.

    Args:
        records: ``pred`` (predicted cluster), ``truth`` (true cluster) and the
            dimension column, one row per record known to both.
        level: label of the breakdown (``keseluruhan``, ``pasangan_sumber``, ``provinsi``).
        dim: the column to break down by; None for overall figures.
        same_only: count only pairs whose two records share the dimension value
            (provinces); else every pair of values (source pairs).
    """
    data = records if dim else records.withColumn("_all", F.lit("semua"))
    column = dim or "_all"
    predicted = _pairs_by_dimension(data, ["pred"], column, same_only).withColumnRenamed(
        "pasangan", "pasangan_prediksi"
    )
    true = _pairs_by_dimension(data, ["truth"], column, same_only).withColumnRenamed(
        "pasangan", "pasangan_benar"
    )
    both = _pairs_by_dimension(data, ["pred", "truth"], column, same_only).withColumnRenamed(
        "pasangan", "tp"
    )
    joined = predicted.join(true, "kelompok", "full").join(both, "kelompok", "full").fillna(0)
    precision = F.when(F.col("pasangan_prediksi") > 0, F.col("tp") / F.col("pasangan_prediksi"))
    recall = F.when(F.col("pasangan_benar") > 0, F.col("tp") / F.col("pasangan_benar"))
    return joined.select(
        F.lit(level).alias("tingkat"),
        "kelompok",
        F.col("pasangan_prediksi").cast("long"),
        F.col("pasangan_benar").cast("long"),
        F.col("tp").cast("long"),
        precision.alias("presisi"),
        recall.alias("recall"),
        (2 * precision * recall / (precision + recall)).alias("f1"),
    )


def evaluate(records: DataFrame, entity: str) -> DataFrame:
    """Overall, per source pair and per province metrics for ``entity`` (individu/keluarga).

    Args:
        records: ``pred``, ``truth``, ``sumber``, ``provinsi`` per record.
    """
    parts = [
        pairwise_metrics(records, "keseluruhan", None, same_only=True),
        pairwise_metrics(records, "pasangan_sumber", "sumber", same_only=False),
        pairwise_metrics(records, "provinsi", "provinsi", same_only=True),
    ]
    out = parts[0]
    for part in parts[1:]:
        out = out.unionByName(part)
    return out.withColumn("entitas", F.lit(entity)).orderBy("entitas", "tingkat", "kelompok")


def scored_records(
    links: DataFrame, gold: DataFrame, truth: DataFrame, entity: str, keys: list[str], truth_id: str
) -> DataFrame:
    """Predicted and true cluster, source and province for every linked source record.

    Args:
        links: ``gold/link_<entity>`` (source keys -> ``dtsen_<entity>_id``).
        gold: ``gold/<entity>`` (its ``kode_wilayah`` gives the province).
        truth: the delivery's ``_truth/<entity>``: source keys -> ``truth_id``.
    """
    dtsen_id = f"dtsen_{entity}_id"
    return (
        links.join(truth, keys)
        .join(gold.select(dtsen_id, "kode_wilayah"), dtsen_id, "left")
        .select(
            F.col(dtsen_id).alias("pred"),
            F.col(truth_id).alias("truth"),
            "sumber",
            F.coalesce(F.substring("kode_wilayah", 1, 2), F.lit("??")).alias("provinsi"),
        )
    )


def format_metrics(rows: list[dict]) -> str:
    """The overall and per-source-pair rows of the metrics table, as the job prints them."""
    header = ("entitas", "kelompok", "presisi", "recall", "f1", "pasangan")
    lines = ["{:<9} {:<18} {:>8} {:>8} {:>8} {:>10}".format(*header)]

    def fmt(value: float | None) -> str:
        return "-" if value is None else f"{value:.4f}"

    for r in rows:
        lines.append(
            f"{r['entitas']:<9} {r['kelompok']:<18} {fmt(r['presisi']):>8} "
            f"{fmt(r['recall']):>8} {fmt(r['f1']):>8} {r['pasangan_benar']:>10}"
        )
    return "\n".join(lines)


def attachment(
    before: DataFrame, first_truth: DataFrame, update_truth: DataFrame, after: DataFrame
) -> dict[str, float]:
    """How an update's records attached to the register, against the two truths.

    A registered person's expected ID is the one most of their first-period records had.
    Precision: of the update records given an ID that existed before, the share given
    their person's; recall: of the update records of registered persons, the share given
    their person's; ``baru_benar``: of the update records of persons new to the register,
    the share given an ID that did not exist before (None when there are none).

    Args:
        before: ``gold/link_individu`` before the update.
        first_truth / update_truth: ``_truth/individu`` of the first period / the update
            (``sumber``, ``id_record``, ``person_id``).
        after: ``gold/link_individu`` after it.
    """
    known = (
        before.join(first_truth, ["sumber", "id_record"])
        .groupBy("person_id")
        .agg(F.mode("dtsen_individu_id").alias("_expected"))
    )
    old_ids = before.select(F.col("dtsen_individu_id").alias("_id")).distinct()
    old_ids = old_ids.withColumn("_existed", F.lit(True))
    typed = update_truth.where(~F.col("sumber").isin("dukcapil"))
    linked = (
        typed.join(after, ["sumber", "id_record"])
        .join(known, "person_id", "left")
        .join(old_ids, F.col("dtsen_individu_id") == F.col("_id"), "left")
    )
    right = F.col("dtsen_individu_id") == F.col("_expected")
    row = linked.agg(
        F.count(F.lit(1)).alias("rekaman"),
        F.sum(F.col("_expected").isNotNull().cast("int")).alias("terdaftar"),
        F.sum(F.coalesce(right, F.lit(False)).cast("int")).alias("benar"),
        F.sum(F.col("_existed").isNotNull().cast("int")).alias("ke_id_lama"),
        F.sum((F.col("_expected").isNull()).cast("int")).alias("baru"),
        F.sum((F.col("_expected").isNull() & F.col("_existed").isNull()).cast("int")).alias(
            "baru_id_baru"
        ),
    ).first()
    return {
        "rekaman": row["rekaman"],
        "presisi": row["benar"] / max(row["ke_id_lama"], 1),
        "recall": row["benar"] / max(row["terdaftar"], 1),
        # None when the update brought no person new to the register.
        "baru_benar": row["baru_id_baru"] / row["baru"] if row["baru"] else None,
    }
