"""Tables partitioned by ``periode``: one period's rows, and which periods exist."""

from __future__ import annotations

from typing import Literal

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from dtsen.errors import BadDeliveryError, StorageError
from dtsen.storage import Storage

Span = Literal["upto", "before", "only"]
"""Which periods :func:`read_periods` returns, relative to the one given: up to and
including it, strictly before it, or it alone."""


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


def read_periods(
    storage: Storage, table: str, periode: str, schema: str, span: Span = "upto"
) -> DataFrame:
    """``table``'s rows of the periods ``span`` names, in the columns of ``schema``.

    For the tables a later stage may find missing: an update's tables (``gold/groundcheck``
    and the others) do not exist before the first update, nor ``gold/keputusan_program``
    before the first allocation. An absent table reads as no rows, so the rules that use
    it apply to nobody. Periods compare as strings, which orders ``YYYYQn`` correctly.

    Args:
        storage: the warehouse.
        table: ``"<layer>/<name>"``, partitioned by ``periode``.
        periode: the reference period, e.g. ``2025Q2``.
        schema: a DDL string (``"periode string, id_gc string, ..."``): the columns
            returned, in this order, and the schema of the empty frame.
        span: ``upto`` (``periode`` and earlier), ``before`` (earlier only) or ``only``.

    Raises:
        StorageError: the table exists but lacks some of ``schema``'s columns (the
            message lists the missing and the present ones).
    """
    period = F.col("periode")
    keep = {"upto": period <= periode, "before": period < periode, "only": period == periode}
    if span not in keep:
        raise ValueError(f"span must be one of {sorted(keep)}, got {span!r}")
    wanted = StructType.fromDDL(schema)
    if not storage.exists(table):
        return storage.spark.createDataFrame([], wanted)
    frame = storage.read(table)
    missing = [c for c in wanted.fieldNames() if c not in frame.columns]
    if missing:
        raise StorageError(f"{table}: missing columns {missing}; it has {frame.columns}")
    return frame.where(keep[span]).select(*wanted.fieldNames())


def latest_periods(storage: Storage, table: str, count: int) -> list[str]:
    """The ``count`` latest periods of ``table``, oldest first (a handful of distinct
    values: collected).

    Raises:
        BadDeliveryError: the table holds fewer periods.
    """
    periods = _periods(storage, table)
    if len(periods) < count:
        raise BadDeliveryError(f"{table} holds {periods}: need {count} periods")
    return periods[-count:]


def periods_before(storage: Storage, table: str, periode: str) -> list[str]:
    """The periods of ``table`` earlier than ``periode``, oldest first; ``[]`` when the
    table does not exist."""
    if not storage.exists(table):
        return []
    return [p for p in _periods(storage, table) if p < periode]


def _periods(storage: Storage, table: str) -> list[str]:
    """Every period of ``table``, oldest first (a handful of distinct values: collected)."""
    return sorted(r[0] for r in storage.read(table).select("periode").distinct().collect())
