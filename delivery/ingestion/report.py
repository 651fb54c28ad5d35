"""Summaries of an ingest: accepted rows and quarantine reasons per table.

Reasons only, never raw lines: quarantine holds personal data, summaries must not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class TableReport:
    """One table's row accounting: every row read is accepted or quarantined."""

    table: str
    read: int
    accepted: int
    quarantined: int
    reasons: dict[str, int]
    """Quarantined rows per reason code."""
    nulled: dict[str, int] = field(default_factory=dict)
    """Accepted rows' fields nulled for a bad value, per ``CODE:column``."""

    @property
    def balanced(self) -> bool:
        return self.read == self.accepted + self.quarantined


def format_reports(reports: list[TableReport]) -> str:
    """The accounting table ingest prints."""
    lines = [f"{'table':<28} {'read':>10} {'accepted':>10} {'quarantined':>11} {'nulled':>8}"]
    for r in reports:
        nulled = sum(r.nulled.values())
        lines.append(f"{r.table:<28} {r.read:>10} {r.accepted:>10} {r.quarantined:>11} {nulled:>8}")
    return "\n".join(lines)
