"""What the register itself knows, as candidate ranking variants to measure.

The PMT is trained on Susenas, which has no P3KE decile, no DTKS self-reports and no
admin records, so those signals cannot be model features learnt from the survey. They
can only be calibrated adjustments of the ranking. Each variant here is one signal
applied alone on top of the PMT, so ``jobs.evaluate_pmt`` can measure what each adds
against the truth (docs/pmt.md, "What the register knows"):

- ``admin_<CODE>``: the PMT score plus one admin rule's shift (``ranking.adjustments``);
- ``p3ke_<pct>``: the national percentile blended with P3KE's own decile (its
  midpoint percentile) at weight ``pct``% where the family has one;
- ``dtks_pangan``: the percentile lowered 5 points per DTKS hardship marker (worried
  about food, food over half of spending, cannot buy clothes).

All are "higher = better off" values, cut by ``ranking.register_evaluation``.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ranking.adjustments import AdjustmentRule

P3KE_WEIGHTS = (25, 50)
DTKS_POINTS = 5.0


def signal_variants(
    ranked: DataFrame, rules: Sequence[AdjustmentRule], p3ke_weights: Sequence[int] = P3KE_WEIGHTS
) -> tuple[DataFrame, dict[str, str]]:
    """``ranked`` with one value column per variant, and variant name -> column.

    Args:
        ranked: ``gold/peringkat`` rows joined with ``gold/keluarga``'s ``desil_p3ke`` and
            ``d3_khawatir_makan``, ``d4_pangan_gt50``, ``d5_beli_pakaian``.
        rules: the admin rules the period was ranked with (``ranking.adjustments``).
        p3ke_weights: blend weights of the P3KE decile, in percent.
    """
    out, names = ranked, {}
    for rule in rules:
        column = f"admin_{rule.code}"
        fired = F.array_contains("penyesuaian", rule.code)
        out = out.withColumn(column, F.col("skor_model") + F.when(fired, rule.shift).otherwise(0.0))
        names[column] = column
    p3ke_pct = (F.col("desil_p3ke") - 0.5) * 10.0
    for weight in p3ke_weights:
        column = f"p3ke_{weight}"
        blended = (1 - weight / 100) * F.col("persentil_nasional") + weight / 100 * p3ke_pct
        out = out.withColumn(column, F.coalesce(blended, F.col("persentil_nasional")))
        names[column] = column
    markers = (
        F.coalesce(F.col("d3_khawatir_makan"), F.lit(0))
        + F.coalesce(F.col("d4_pangan_gt50"), F.lit(0))
        + F.when(F.col("d5_beli_pakaian") == 0, 1).otherwise(0)
    )
    out = out.withColumn("dtks_pangan", F.col("persentil_nasional") - DTKS_POINTS * markers)
    names["dtks_pangan"] = "dtks_pangan"
    return out, names
