"""Tables partitioned by ``periode``: one period's rows, and which periods exist."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from dtsen.errors import BadDeliveryError
from dtsen.storage import Storage


def read_period(
    storage: Storage, table: str, periode: str, version: int | None = None, required: bool = True
) -> DataFrame:
    """``table``'s rows of ``periode`` (at ``version``, else as published).

    Raises:
        BadDeliveryError: ``required`` and the period has no rows (its stage has not run).
    """
    frame = storage.read(table, version).where(F.col("periode") == periode)
    if required and frame.isEmpty():
        at = "" if version is None else f" (version {version})"
        raise BadDeliveryError(
            f"{table}{at}: no rows for periode {periode}; run the stage that writes it first"
        )
    return frame


def latest_periods(storage: Storage, table: str, count: int) -> list[str]:
    """The ``count`` latest periods of ``table``, oldest first (a handful of distinct
    values: collected).

    Raises:
        BadDeliveryError: the table holds fewer periods.
    """
    periods = sorted(r[0] for r in storage.read(table).select("periode").distinct().collect())
    if len(periods) < count:
        raise BadDeliveryError(f"{table} holds {periods}: need {count} periods")
    return periods[-count:]
