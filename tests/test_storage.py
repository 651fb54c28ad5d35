"""Contract of ``dtsen.storage``, run against every engine this machine can run.

The delta-rs leg always runs; the delta-spark leg needs delta-spark's JARs. Tables are
a few rows with explicit schemas (a long, a string, a date, nulls) to keep Spark work
tiny on a shared machine.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
from chispa import assert_df_equality
from deltalake import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DateType, LongType, StringType, StructField, StructType

from dtsen.config import Config, StorageConfig
from dtsen.errors import StorageConflictError, StorageError
from dtsen.session import has_delta_classes
from dtsen.storage import Storage, open_storage
from dtsen.storage.delta_rs import STAGE_PREFIX

NO_DELTA_JARS = (
    "delta-spark JVM classes not on the classpath: set DTSEN_DELTA_JARS to the delta-spark "
    "jars; the Maven repository is not reachable from this machine"
)

SCHEMA = StructType(
    [
        StructField("id", LongType()),
        StructField("name", StringType()),
        StructField("born", DateType()),
        StructField("batch", StringType()),
    ]
)
FIRST = [
    (1, "Siti Aminah", date(1990, 1, 2), "2025-01"),
    (2, None, date(1985, 5, 6), "2025-01"),
]
SECOND = [(3, "Budi", None, "2025-02")]
TABLE = "silver/people"

EXPECTED_OPERATIONS = {
    # delta-rs records a table's first commit as CREATE TABLE and every later one,
    # upserts included, as WRITE (they are add/remove transactions).
    "delta-rs": ["WRITE", "WRITE", "CREATE TABLE"],
    "delta-spark": ["MERGE", "WRITE", "WRITE"],
}


@pytest.fixture(params=["delta-rs", pytest.param("delta-spark", marks=pytest.mark.delta_spark)])
def storage(request: pytest.FixtureRequest, spark: SparkSession, tmp_path: Path) -> Storage:
    if request.param == "delta-spark" and not has_delta_classes(spark):
        pytest.skip(NO_DELTA_JARS)
    return Storage(spark, str(tmp_path / "warehouse"), engine=request.param)


@pytest.fixture
def offline(spark: SparkSession, tmp_path: Path) -> Storage:
    return Storage(spark, str(tmp_path / "warehouse"), engine="delta-rs")


def frame(spark: SparkSession, rows: list[tuple]) -> DataFrame:
    return spark.createDataFrame(rows, SCHEMA)


def assert_rows(actual: DataFrame, expected: DataFrame) -> None:
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_overwrite_append_and_time_travel(storage: Storage, spark: SparkSession) -> None:
    assert storage.write(frame(spark, FIRST), TABLE) == 0
    assert storage.write(frame(spark, SECOND), TABLE, mode="append") == 1

    assert storage.exists(TABLE)
    assert storage.version(TABLE) == 1
    assert_rows(storage.read(TABLE), frame(spark, FIRST + SECOND))
    assert_rows(storage.read(TABLE, version=0), frame(spark, FIRST))


def test_overwrite_replaces_all_rows(storage: Storage, spark: SparkSession) -> None:
    storage.write(frame(spark, FIRST), TABLE)
    assert storage.write(frame(spark, SECOND), TABLE) == 1

    assert_rows(storage.read(TABLE), frame(spark, SECOND))


def test_partitioned_write_and_read(storage: Storage, spark: SparkSession) -> None:
    # Partition values needing escapes in folder names, and a null partition value.
    rows = [
        (1, "Siti", date(1990, 1, 2), "b 1:x+y%"),
        (2, None, date(1990, 1, 2), "b 1:x+y%"),
        (3, "Budi", None, "b2"),
    ]
    # One task writes every partition, so the files in all folders share one name.
    storage.write(frame(spark, rows).coalesce(1), TABLE, partition_by=["batch", "born"])

    actual = storage.read(TABLE)
    assert actual.dtypes == [
        ("id", "bigint"),
        ("name", "string"),
        ("born", "date"),
        ("batch", "string"),
    ]
    assert_rows(actual, frame(spark, rows))


def test_replace_where_replaces_one_partition_only(storage: Storage, spark: SparkSession) -> None:
    storage.write(frame(spark, FIRST + SECOND), TABLE, partition_by=["batch"])
    replacement = [(7, "Wati", date(2000, 12, 31), "2025-01")]

    version = storage.write(frame(spark, replacement), TABLE, replace_where={"batch": "2025-01"})

    assert version == 1
    assert_rows(storage.read(TABLE), frame(spark, replacement + SECOND))


def test_replace_where_needs_partition_columns(storage: Storage, spark: SparkSession) -> None:
    storage.write(frame(spark, FIRST), TABLE, partition_by=["batch"])

    with pytest.raises(StorageError, match=r"silver/people.*\['name'\].*not partition columns"):
        storage.write(frame(spark, FIRST), TABLE, replace_where={"name": "Siti Aminah"})


def test_upsert_updates_and_inserts(storage: Storage, spark: SparkSession) -> None:
    # Partitioned by name: the "Siti Aminah" folder needs URI-encoding in the log, and
    # id 2 moves out of the null partition.
    storage.write(frame(spark, FIRST + SECOND), TABLE, partition_by=["name"])
    changes = [
        (1, "Siti Aminah", date(1990, 1, 3), "2025-03"),
        (2, "Dewi", date(1985, 5, 7), "2025-03"),
        (4, "Eko", None, "2025-03"),
    ]

    assert storage.upsert(frame(spark, changes), TABLE, keys=["id"]) == 1

    assert_rows(storage.read(TABLE), frame(spark, [*changes, *SECOND]))
    assert_rows(storage.read(TABLE, version=0), frame(spark, FIRST + SECOND))


def test_upsert_creates_missing_table(storage: Storage, spark: SparkSession) -> None:
    assert storage.upsert(frame(spark, FIRST), TABLE, keys=["id"]) == 0

    assert_rows(storage.read(TABLE), frame(spark, FIRST))


def test_upsert_with_duplicate_keys_raises(storage: Storage, spark: SparkSession) -> None:
    storage.write(frame(spark, FIRST), TABLE)
    repeated = [(4, "Eko", None, "2025-03"), (4, "Eka", None, "2025-03")]

    with pytest.raises(StorageConflictError, match=r"silver/people.*\[4\]"):
        storage.upsert(frame(spark, repeated), TABLE, keys=["id"])
    assert storage.version(TABLE) == 0


def test_history_lists_commits_newest_first(storage: Storage, spark: SparkSession) -> None:
    storage.write(frame(spark, FIRST), TABLE)
    storage.write(frame(spark, SECOND), TABLE, mode="append")
    storage.upsert(frame(spark, SECOND), TABLE, keys=["id"])

    history = storage.history(TABLE)

    assert [entry["version"] for entry in history] == [2, 1, 0]
    assert [entry["operation"] for entry in history] == EXPECTED_OPERATIONS[storage.engine]
    assert history[0]["timestamp"] >= history[-1]["timestamp"]


def test_schema_mismatch_raises(storage: Storage, spark: SparkSession) -> None:
    storage.write(frame(spark, FIRST), TABLE)
    other = frame(spark, SECOND).withColumn("born", F.lit("1990")).withColumn("extra", F.lit(1))

    with pytest.raises(StorageError, match=r"silver/people.*extra.*born is string") as error:
        storage.write(other, TABLE, mode="append")
    assert "table has date" in str(error.value)
    assert storage.version(TABLE) == 0


def test_read_missing_table_raises(storage: Storage) -> None:
    with pytest.raises(StorageError, match=r"no Delta table at .*warehouse/bronze/absent"):
        storage.read("bronze/absent")


def test_read_missing_version_raises(storage: Storage, spark: SparkSession) -> None:
    storage.write(frame(spark, FIRST), TABLE)

    with pytest.raises(StorageError, match="no version 5, latest is 0"):
        storage.read(TABLE, version=5)


def test_bad_table_name_raises(storage: Storage) -> None:
    with pytest.raises(StorageError, match="expected '<layer>/<name>'"):
        storage.path("people")


def test_offline_table_is_standard_delta(offline: Storage, spark: SparkSession) -> None:
    first = [(1, "Siti", date(1990, 1, 2), "b 1:x+y%"), (2, None, None, "b 1:x+y%")]
    offline.write(frame(spark, first), TABLE, partition_by=["batch"])
    offline.write(frame(spark, SECOND), TABLE, mode="append")
    path = offline.path(TABLE)

    table = DeltaTable(path)

    assert table.version() == 1
    assert table.metadata().partition_columns == ["batch"]
    assert _sorted_rows(table.to_pyarrow_table()) == _as_dicts(first + SECOND)
    assert _sorted_rows(DeltaTable(path, version=0).to_pyarrow_table()) == _as_dicts(first)


def test_offline_failed_write_leaves_no_commit(offline: Storage, spark: SparkSession) -> None:
    offline.write(frame(spark, FIRST), TABLE)
    failing = frame(spark, SECOND).withColumn(
        "name", F.when(F.col("id") > 0, F.raise_error(F.lit("boom"))).otherwise(F.col("name"))
    )

    with pytest.raises(Exception, match="boom"):
        offline.write(failing, TABLE, mode="append")

    assert offline.version(TABLE) == 0
    assert len(list(Path(offline.path(TABLE)).glob(f"{STAGE_PREFIX}*"))) == 1
    assert_rows(offline.read(TABLE), frame(spark, FIRST))


def test_offline_replace_where_rejects_rows_of_other_partitions(
    offline: Storage, spark: SparkSession
) -> None:
    offline.write(frame(spark, FIRST), TABLE, partition_by=["batch"])

    with pytest.raises(StorageError, match=r"replace_where.*'batch': '2025-02'"):
        offline.write(frame(spark, SECOND), TABLE, replace_where={"batch": "2025-01"})

    assert offline.version(TABLE) == 0
    assert len(list(Path(offline.path(TABLE)).glob(f"{STAGE_PREFIX}*"))) == 1


def test_offline_empty_table_reads_with_schema(offline: Storage, spark: SparkSession) -> None:
    offline.write(frame(spark, []), TABLE, partition_by=["batch"])

    assert_rows(offline.read(TABLE), frame(spark, []))


def test_forcing_delta_spark_without_classes_raises(spark: SparkSession, tmp_path: Path) -> None:
    if has_delta_classes(spark):
        pytest.skip("delta-spark classes are on the classpath")

    with pytest.raises(StorageError, match="DTSEN_DELTA_JARS"):
        Storage(spark, str(tmp_path), engine="delta-spark")


def test_open_storage_uses_config(spark: SparkSession, test_config: Config, tmp_path: Path) -> None:
    cfg = test_config.model_copy(
        update={"storage": StorageConfig(root=str(tmp_path), engine="delta-rs")}
    )

    storage = open_storage(spark, cfg)

    assert storage.engine == "delta-rs"
    assert storage.path("bronze/regsosek_individu") == f"{tmp_path}/bronze/regsosek_individu"


def _as_dicts(rows: list[tuple]) -> list[dict]:
    return sorted(
        (dict(zip(SCHEMA.fieldNames(), row, strict=True)) for row in rows), key=lambda r: r["id"]
    )


def _sorted_rows(table: pa.Table) -> list[dict]:
    return sorted(table.select(SCHEMA.fieldNames()).to_pylist(), key=lambda r: r["id"])


def test_partition_column_with_leading_underscore(storage: Storage, spark: SparkSession) -> None:
    """Ingest partitions by ``_ingest_batch``: its folders must not be taken for hidden ones."""
    df = frame(spark, FIRST).withColumnRenamed("batch", "_ingest_batch")
    storage.write(df, TABLE, partition_by=["_ingest_batch"])
    storage.write(
        frame(spark, SECOND).withColumnRenamed("batch", "_ingest_batch"),
        TABLE,
        partition_by=["_ingest_batch"],
        replace_where={"_ingest_batch": "2025-02"},
    )
    expected = frame(spark, FIRST + SECOND).withColumnRenamed("batch", "_ingest_batch")
    assert_rows(storage.read(TABLE).select(*expected.columns), expected)
