"""The national pass: places a kab/kota cannot fill go to the best candidates elsewhere.

A kab/kota's quota follows its share of the nation's poor (:func:`ranking.allocation.kab_quotas`),
not its count of eligible candidates: a kab with fewer eligible candidates than places
leaves places empty, while other kabs turn eligible candidates away. updates.md item 7
asks for those places to be redistributed nationally, so the program reaches its
national quota whenever the country has the candidates for it.

The pass picks, for a program, the ``N`` best unselected eligible candidates of the
whole country in the allocation's own order (``prioritas``, ``persentil``, ``unit_id``),
where ``N`` is the sum of the places left empty. A window over the whole country would
put every candidate in one task; instead:

1. ``N`` is an aggregate (one row);
2. the unselected candidates are counted per (``prioritas``, percentile bucket), a
   table of at most 6 × ``buckets`` rows, whose running total (a window over that
   small table, deliberately unpartitioned) says which buckets fall wholly inside the
   top ``N`` and which one is cut;
3. a ``row_number`` partitioned by (``prioritas``, bucket) orders candidates within
   their bucket, so the cut bucket takes exactly the places it has left.

Buckets are intervals of ``persentil`` (the national percentile, uniform over people by
construction), so each holds about ``1 / buckets`` of the pool and no task sees more
than one bucket's share. The result is the same as one ordered window over the country.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from ranking.allocation import REDISTRIBUSI_NASIONAL

__all__ = ["redistribute"]

BUCKETS = 10_000
"""Percentile buckets per priority: 0.01 percentile points each."""


def _leftover(decisions: DataFrame, quotas: DataFrame) -> DataFrame:
    """One row, ``_sisa``: the places left empty over all kabs (a kab whose selected
    units exceed its quota, through reactivations, leaves none and lends none)."""
    chosen = decisions.where("terpilih").groupBy("kode_kab").agg(F.count(F.lit(1)).alias("_n"))
    empty = F.greatest(F.col("kuota") - F.coalesce("_n", F.lit(0)), F.lit(0))
    return quotas.join(chosen, "kode_kab", "left").agg(
        F.coalesce(F.sum(empty), F.lit(0)).cast("long").alias("_sisa")
    )


def redistribute(decisions: DataFrame, quotas: DataFrame, buckets: int = BUCKETS) -> DataFrame:
    """Give the places kabs could not fill to the best unselected candidates nationally.

    Args:
        decisions: one program's :func:`ranking.allocation.allocate` output (``unit_id``
            unique; ``kode_kab``, ``persentil``, ``terpilih``, ``prioritas``, ``alasan``).
        quotas: the same program's ``kode_kab``, ``kuota``.
        buckets: percentile buckets per priority (see the module docstring); any value
            gives the same result, it only bounds how many candidates share a task.

    Returns:
        ``decisions`` with the same columns: the candidates taken by the national pass
        are ``terpilih`` with ``alasan`` ``REDISTRIBUSI_NASIONAL`` and keep their
        ``prioritas``; a current recipient an over-quota kab dropped (``LEBIH_KUOTA``)
        comes first among them, by its priority. Everyone else is unchanged.
    """
    if buckets < 1:
        raise ValueError(f"buckets must be at least 1, got {buckets}")
    # Null persentil (no score) sorts last, as in the allocation's own order.
    bucket = F.coalesce(F.floor(F.col("persentil") * buckets / 100), F.lit(buckets + 1))
    pool = decisions.where(~F.col("terpilih") & F.col("prioritas").isNotNull()).select(
        "unit_id", "prioritas", "persentil", bucket.cast("long").alias("_ember")
    )
    # Small table (priorities x buckets): a global running total is cheap here.
    before = Window.orderBy("prioritas", "_ember").rowsBetween(
        Window.unboundedPreceding, Window.currentRow - 1
    )
    open_buckets = (
        pool.groupBy("prioritas", "_ember")
        .agg(F.count(F.lit(1)).alias("_n"))
        .withColumn("_sebelum", F.coalesce(F.sum("_n").over(before), F.lit(0)))
        .crossJoin(_leftover(decisions, quotas))
        .where(F.col("_sebelum") < F.col("_sisa"))
        .select("prioritas", "_ember", "_sebelum", "_sisa")
    )
    # row_number, not rank: places are counted in units; unit_id breaks ties.
    within = Window.partitionBy("prioritas", "_ember").orderBy(
        F.asc_nulls_last("persentil"), F.asc("unit_id")
    )
    moved = (
        pool.join(F.broadcast(open_buckets), ["prioritas", "_ember"])
        .withColumn("_urutan", F.col("_sebelum") + F.row_number().over(within))
        .where(F.col("_urutan") <= F.col("_sisa"))
        .select("unit_id", F.lit(True).alias("_pindah"))
    )
    pindah = F.coalesce("_pindah", F.lit(False))
    return (
        decisions.join(moved, "unit_id", "left")
        .withColumn("terpilih", F.col("terpilih") | pindah)
        .withColumn("alasan", F.when(pindah, REDISTRIBUSI_NASIONAL).otherwise(F.col("alasan")))
        .select(*decisions.columns)
    )
