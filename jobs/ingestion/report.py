"""Summaries of an ingest: accepted rows and quarantine reasons per table.

Reasons only, never raw lines: quarantine holds personal data, summaries must not.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def reason_counts(rows: DataFrame) -> DataFrame:
    """Rows per reason code and column (``reason`` null = accepted), most frequent first.

    Args:
        rows: validated or quarantined rows with a ``_reason`` column (``CODE[:column]``).
    """
    parts = F.split(F.col("_reason"), ":")
    return (
        rows.groupBy(parts[0].alias("reason"), F.try_element_at(parts, F.lit(2)).alias("column"))
        .agg(F.count(F.lit(1)).alias("rows"))
        .orderBy(F.desc("rows"), "reason", "column")
    )
