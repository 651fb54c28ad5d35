"""Delta engine on delta-spark: Delta's own Spark data source and ``DeltaTable`` API.

Used when the session has delta-spark's JVM classes (``DTSEN_DELTA_JARS``). Arguments
arrive already checked by ``dtsen.storage.Storage``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from delta.exceptions import (
    ConcurrentAppendException,
    ConcurrentDeleteDeleteException,
    ConcurrentDeleteReadException,
    ConcurrentTransactionException,
    ConcurrentWriteException,
    DeltaConcurrentModificationException,
    MetadataChangedException,
    ProtocolChangedException,
)
from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType


def _sql_string(value: str) -> str:
    """``value`` as a Spark SQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def replace_where_predicate(values: dict[str, str]) -> str:
    """The ``replaceWhere`` condition selecting the rows whose columns equal ``values``."""
    return " AND ".join(f"`{column}` = {_sql_string(value)}" for column, value in values.items())


def merge_condition(keys: list[str]) -> str:
    """Join condition of target ``t`` and source ``s`` on every key column."""
    return " AND ".join(f"t.`{key}` = s.`{key}`" for key in keys)


class DeltaSparkEngine:
    """Reads and writes Delta tables with delta-spark."""

    name = "delta-spark"
    # Not subclasses of one another in delta-spark's Python API, so listed one by one.
    conflicts = (
        DeltaConcurrentModificationException,
        ConcurrentWriteException,
        MetadataChangedException,
        ProtocolChangedException,
        ConcurrentAppendException,
        ConcurrentDeleteReadException,
        ConcurrentDeleteDeleteException,
        ConcurrentTransactionException,
    )

    def __init__(self, spark: SparkSession) -> None:
        self._spark = spark

    def exists(self, path: str) -> bool:
        """Whether ``path`` holds a Delta table."""
        return DeltaTable.isDeltaTable(self._spark, path)

    def version(self, path: str) -> int:
        """Latest committed version."""
        return int(DeltaTable.forPath(self._spark, path).history(1).first()["version"])

    def schema(self, path: str) -> StructType:
        """The table's Spark schema."""
        return DeltaTable.forPath(self._spark, path).toDF().schema

    def partition_columns(self, path: str) -> list[str]:
        """The table's partition columns, in order."""
        detail = DeltaTable.forPath(self._spark, path).detail().first()
        return list(detail["partitionColumns"])

    def write(
        self,
        df: DataFrame,
        path: str,
        mode: str,
        partition_by: list[str],
        replace_where: dict[str, str] | None,
    ) -> int:
        """Write ``df`` in one commit; ``replace_where`` becomes Delta's ``replaceWhere``."""
        writer = df.write.format("delta").mode(mode)
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        if replace_where:
            writer = writer.option("replaceWhere", replace_where_predicate(replace_where))
        writer.save(path)
        return self.version(path)

    def read(self, path: str, version: int | None) -> DataFrame:
        """The latest rows, or those of ``version``."""
        reader = self._spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        return reader.load(path)

    def upsert(self, df: DataFrame, path: str, keys: list[str]) -> int:
        """MERGE ``df`` by ``keys``: update matches, insert the rest; create if absent."""
        if not self.exists(path):
            return self.write(df, path, "overwrite", [], None)
        (
            DeltaTable.forPath(self._spark, path)
            .alias("t")
            .merge(df.alias("s"), merge_condition(keys))
            .whenMatchedUpdateAll()
            .whenNotMatchedInsertAll()
            .execute()
        )
        return self.version(path)

    def history(self, path: str) -> list[dict[str, Any]]:
        """Commits, newest first.

        The timestamp goes through ``unix_millis`` because collecting a Spark timestamp
        yields a naive datetime in the driver's local time zone.
        """
        rows = (
            DeltaTable.forPath(self._spark, path)
            .history()
            .select("version", F.unix_millis("timestamp").alias("millis"), "operation")
            .collect()
        )
        entries = [
            {
                "version": int(row["version"]),
                "timestamp": datetime.fromtimestamp(row["millis"] / 1000, tz=UTC),
                "operation": row["operation"],
            }
            for row in rows
        ]
        return sorted(entries, key=lambda entry: entry["version"], reverse=True)
