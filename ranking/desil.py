"""Exact, population-weighted desil (decile) and percentile of families.

A family's place is the midpoint of its people in the welfare order of its group:

    before     = weight of the families strictly earlier in (score asc, key asc)
    percentile = 100 * (before + weight / 2) / total        (50 when total is 0)
    desil      = least(10, floor(percentile / 10) + 1)       (1 = poorest)

so each desil holds about a tenth of the *people* of the group, not of its families.

Why not one window: ``Window.partitionBy(*by).orderBy(score, key)`` is exact but puts a
whole group in one task. Nationally that is the whole country (Spark moves every row
to a single partition), and even a province window is skewed (the largest province has
about 50 M people). :func:`with_desil` gets the same numbers without that:

1. Score boundaries from a small ``approxQuantile`` sketch (``buckets - 1`` doubles are
   collected to the driver; nothing the size of the data).
2. Each family gets ``bucket`` = the number of boundaries <= its score. The bucket
   depends on the score only, so equal scores always share a bucket and buckets are
   in score order: the order (bucket, score, key) is the order (score, key).
3. A running sum over ``partitionBy(*by, bucket).orderBy(score, key)`` gives the
   weight before the family inside its bucket; windows are now ``buckets`` times
   smaller and spread over all tasks.
4. ``groupBy(*by, bucket)`` totals (a small table: groups x buckets rows), whose
   prefix sums over the buckets of a group give each bucket's offset and the group
   total. That table is broadcast back; ``before = offset + within-bucket before``.

Integer weights (people) make every sum exact, so the result equals the single-window
:func:`reference_desil` to the last bit. Skew that remains: a single score shared by a
huge block of families (e.g. a default score) is one bucket however many buckets are
asked for, because ties must stay together to keep the order (score, key) intact.
"""

from __future__ import annotations

import logging
import math
from functools import reduce

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

__all__ = ["DEFAULT_BUCKETS", "reference_desil", "score_bounds", "with_desil"]

log = logging.getLogger(__name__)

DEFAULT_BUCKETS = 200
"""Score buckets: each window partition holds about 1/200 of a group's families.

At the full DTSEN size (about 90 M families) that is ~450 k rows per bucket for the
national ranking, comfortably one task's sort; the offsets table stays tiny (kab/kota:
514 x 201 rows). Raise it for much larger inputs (aim at a few hundred thousand rows per
bucket); the boundary expression is a binary search, so a larger count costs little.
"""

DESIL = 10


def with_desil(
    families: DataFrame,
    *,
    by: list[str],
    desil_col: str,
    percentile_col: str | None = None,
    score: str = "skor",
    weight: str = "jumlah_anggota",
    key: str = "dtsen_keluarga_id",
    buckets: int = DEFAULT_BUCKETS,
    bounds: list[float] | None = None,
) -> DataFrame:
    """Add an exact population-weighted desil (and optionally percentile) within groups.

    Scales to a national ranking: no window spans a whole group (see the module
    docstring for the method). Runs one small Spark job eagerly, the score sketch;
    cache ``families`` first if it is expensive to compute, since it is read again when
    the result is.

    Args:
        families: one row per family, with ``score``, ``weight`` and ``key`` columns.
        by: grouping columns (e.g. ``["kode_prov"]``); ``[]`` ranks the whole country.
            A null group value is a group of its own, as in a window.
        desil_col: name of the new desil column (int, 1 = poorest ... 10).
        percentile_col: name of the new percentile column (double, 0-100), or ``None``.
        score: welfare score, lower = poorer. Nulls sort first, NaN last (Spark's order).
        weight: people in the family (integer; 0 is allowed and takes no room).
        key: unique family key, the tie-breaker among equal scores.
        buckets: number of score buckets the work is split into (see
            :data:`DEFAULT_BUCKETS`); any value >= 1 gives the same result.
        bounds: precomputed :func:`score_bounds` of the same scores; several levels
            ranking one table share them, so the sketch runs once (then nothing runs
            eagerly and ``buckets`` is not used).

    Returns:
        ``families`` with ``desil_col`` (and ``percentile_col``) added.

    Raises:
        ValueError: a named column is missing, an output or helper column already
            exists, or ``buckets`` < 1.
    """
    _check(families, by, desil_col, percentile_col, score, weight, key)
    if buckets < 1:
        raise ValueError(f"buckets: expected an integer >= 1, got {buckets}")
    tmp = f"__{desil_col}"
    helpers = ("bucket", "within", "other_bucket", "bucket_weight", "offset", "before", "total")
    bucket, within, other_bucket, bucket_weight, offset, before, total = (
        f"{tmp}_{h}" for h in helpers
    )
    _check_free(families, [bucket, within, other_bucket, bucket_weight, offset, before, total])

    if bounds is None:
        bounds = score_bounds(families, score, buckets)
    log.debug("desil %s: %d score buckets", desil_col, len(bounds) + 1)
    bucketed = _with_bucket(families, score, bounds, bucket)

    # Small table: one row per (group, bucket). Its group window has a partitionBy only
    # when there are groups; nationally it holds at most `buckets` rows, so a constant
    # partition (one task) is the right shape and avoids Spark's no-partition warning.
    aliases = [f"{tmp}_by{i}" for i in range(len(by))]
    renamed = [F.col(c).alias(a) for c, a in zip(by, aliases, strict=True)]
    group = [F.col(a) for a in aliases] or [F.lit(0)]
    # Buckets are unique within a group, so the bucket alone is a full tie-breaker here.
    earlier = Window.partitionBy(*group).orderBy(other_bucket)
    offsets = (
        bucketed.groupBy(*renamed, F.col(bucket).alias(other_bucket))
        .agg(F.sum(weight).alias(bucket_weight))
        .select(
            *aliases,
            other_bucket,
            F.coalesce(
                F.sum(bucket_weight).over(earlier.rowsBetween(Window.unboundedPreceding, -1)),
                F.lit(0),
            ).alias(offset),
            F.sum(bucket_weight).over(Window.partitionBy(*group)).alias(total),
        )
    )

    # Key after score: a deterministic, unique tie-breaker among equal scores.
    in_bucket = Window.partitionBy(*by, bucket).orderBy(score, key)
    placed = bucketed.withColumn(
        within,
        F.coalesce(
            F.sum(weight).over(in_bucket.rowsBetween(Window.unboundedPreceding, -1)), F.lit(0)
        ),
    )

    # Null-safe keys: a null group is a group of its own, as in the reference window.
    on = reduce(
        lambda a, b: a & b,
        [F.col(c).eqNullSafe(F.col(a)) for c, a in zip(by, aliases, strict=True)],
        F.col(bucket) == F.col(other_bucket),
    )
    ranked = _finish(
        placed.join(F.broadcast(offsets), on).withColumn(before, F.col(offset) + F.col(within)),
        before=before,
        total=total,
        weight=weight,
        desil_col=desil_col,
        percentile_col=percentile_col,
    )
    return ranked.select(*families.columns, *_outputs(desil_col, percentile_col))


def reference_desil(
    families: DataFrame,
    *,
    by: list[str],
    desil_col: str,
    percentile_col: str | None = None,
    score: str = "skor",
    weight: str = "jumlah_anggota",
    key: str = "dtsen_keluarga_id",
) -> DataFrame:
    """The plain single-window definition; a reference for tests and benchmarks only.

    Not for production: with ``by=[]`` Spark moves every family of the country into one
    task, and large groups are skewed. :func:`with_desil` returns exactly the same
    columns and values at scale. Arguments as in :func:`with_desil`.
    """
    _check(families, by, desil_col, percentile_col, score, weight, key)
    tmp = f"__{desil_col}"
    before, total = f"{tmp}_before", f"{tmp}_total"
    _check_free(families, [before, total])
    # Key after score: a deterministic, unique tie-breaker among equal scores.
    order = Window.partitionBy(*by).orderBy(score, key)
    ranked = families.withColumn(
        before,
        F.coalesce(F.sum(weight).over(order.rowsBetween(Window.unboundedPreceding, -1)), F.lit(0)),
    ).withColumn(total, F.sum(weight).over(Window.partitionBy(*by)))
    ranked = _finish(
        ranked,
        before=before,
        total=total,
        weight=weight,
        desil_col=desil_col,
        percentile_col=percentile_col,
    )
    return ranked.select(*families.columns, *_outputs(desil_col, percentile_col))


def _finish(
    df: DataFrame,
    *,
    before: str,
    total: str,
    weight: str,
    desil_col: str,
    percentile_col: str | None,
) -> DataFrame:
    """Percentile and desil from ``before`` and ``total`` (one formula for both methods)."""
    percentile = F.when(F.col(total) == 0, F.lit(50.0)).otherwise(
        F.lit(100.0) * (F.col(before) + F.col(weight) / 2) / F.col(total)
    )
    desil = F.least(F.lit(DESIL), F.floor(percentile / (100 / DESIL)) + 1).cast("int")
    df = df.withColumn(desil_col, desil)
    if percentile_col is not None:
        df = df.withColumn(percentile_col, percentile)
    return df


def _outputs(desil_col: str, percentile_col: str | None) -> list[str]:
    return [desil_col] if percentile_col is None else [desil_col, percentile_col]


def score_bounds(families: DataFrame, score: str, buckets: int) -> list[float]:
    """Up to ``buckets - 1`` distinct, sorted score boundaries from an approximate sketch.

    Their accuracy only affects how evenly rows spread over buckets, never the result.
    ``approxQuantile`` ignores nulls and NaN; NaN boundaries are dropped in any case.
    """
    if buckets == 1:
        return []
    probabilities = [i / buckets for i in range(1, buckets)]
    found = families.approxQuantile(score, probabilities, 1 / (4 * buckets))
    return sorted({b for b in found if b == b})  # b == b drops NaN


def _with_bucket(df: DataFrame, score: str, bounds: list[float], name: str) -> DataFrame:
    """Add ``name`` = the number of ``bounds`` <= score, by a branchless binary search.

    The bounds are padded with +inf to 2**levels - 1 entries, held in one array literal,
    and each level of the search is its own small projection: a CASE tree or a sum of
    comparisons would generate code that grows with the bucket count and, past about a
    hundred buckets, exceeds the JVM's JIT limit for the whole stage. The comparisons
    are Spark's own (-0.0 = 0.0; NaN above everything, +inf pads included, so NaN lands
    in the last bucket), so the bucket never disagrees with the sort order. A null score
    never compares true: bucket 0, where nulls also sort first.
    """
    levels = len(bounds).bit_length()
    padded = bounds + [math.inf] * (2**levels - 1 - len(bounds))
    array = F.array(*[F.lit(b) for b in padded])
    df = df.withColumn(name, F.lit(0))
    for level in reversed(range(levels)):
        step = 2**level
        probe = F.element_at(array, F.col(name) + step)  # always within 1..len(padded)
        df = df.withColumn(name, F.col(name) + F.when(probe <= F.col(score), step).otherwise(0))
    return df


def _check(
    families: DataFrame,
    by: list[str],
    desil_col: str,
    percentile_col: str | None,
    score: str,
    weight: str,
    key: str,
) -> None:
    present = families.columns
    missing = [c for c in (*by, score, weight, key) if c not in present]
    if missing:
        raise ValueError(f"families: missing columns {missing}; present: {present}")
    _check_free(families, _outputs(desil_col, percentile_col))


def _check_free(families: DataFrame, names: list[str]) -> None:
    taken = [c for c in names if c in families.columns]
    if taken:
        raise ValueError(f"families: columns {taken} already exist; present: {families.columns}")
