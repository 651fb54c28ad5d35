"""Contract of ``dtsen.storage``, run against every engine this machine can run.

The delta-rs leg always runs; the delta-spark leg needs delta-spark's JARs (``make
jars``; without them it skips with the reason the fetch recorded). Tables written by
one engine are read and changed by the other, both ways. Two writers at once and the
removal of unreferenced files are tested on both engines. Tables are
a few rows with explicit schemas (a long, a string, a date, nulls) to keep Spark work
tiny on a shared machine.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from datetime import date, timedelta
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
    if request.param == "delta-spark":
        request.getfixturevalue("require_delta_spark")
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


ENGINE_PAIRS = [
    pytest.param("delta-rs", "delta-spark", id="delta-rs-to-delta-spark"),
    pytest.param("delta-spark", "delta-rs", id="delta-spark-to-delta-rs"),
]


@pytest.mark.delta_spark
@pytest.mark.parametrize(("writer", "reader"), ENGINE_PAIRS)
def test_table_written_by_one_engine_is_read_and_changed_by_the_other(
    writer: str, reader: str, spark: SparkSession, tmp_path: Path, require_delta_spark: None
) -> None:
    root = str(tmp_path / "warehouse")
    first, second = Storage(spark, root, writer), Storage(spark, root, reader)
    first.write(frame(spark, FIRST + SECOND), TABLE, partition_by=["batch"])

    assert_rows(second.read(TABLE), frame(spark, FIRST + SECOND))

    replacement = [(7, "Wati", date(2000, 12, 31), "2025-01")]
    assert second.write(frame(spark, replacement), TABLE, replace_where={"batch": "2025-01"}) == 1
    assert_rows(first.read(TABLE), frame(spark, replacement + SECOND))
    assert_rows(first.read(TABLE, version=0), frame(spark, FIRST + SECOND))

    changes = [(3, "Budi Santoso", date(1970, 7, 1), "2025-02")]
    assert first.upsert(frame(spark, changes), TABLE, keys=["id"]) == 2
    assert_rows(second.read(TABLE), frame(spark, replacement + changes))
    assert second.version(TABLE) == 2


def _slow(df: DataFrame, millis: int) -> DataFrame:
    """``df``, each task sleeping ``millis`` first: holds a write open (JVM built-in, no UDF)."""
    sleep = F.expr(f"reflect('java.lang.Thread', 'sleep', CAST({millis} AS BIGINT))")
    return df.where(sleep.isNull() | sleep.isNotNull())


def test_two_writers_at_once_one_wins_the_other_fails_clearly(
    storage: Storage, spark: SparkSession
) -> None:
    storage.write(frame(spark, FIRST), TABLE)
    writes = {"a": [(10, "Ani", None, "2025-04")], "b": [(20, "Bayu", None, "2025-04")]}
    start = threading.Barrier(len(writes))
    versions: dict[str, int] = {}
    errors: dict[str, StorageConflictError] = {}

    def write(name: str) -> None:
        df = _slow(frame(spark, writes[name]), 3000)
        start.wait()
        try:
            versions[name] = storage.write(df, TABLE)
        except StorageConflictError as exc:
            errors[name] = exc

    threads = [threading.Thread(target=write, args=(name,)) for name in writes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert len(versions) == 1 and len(errors) == 1, (versions, errors)
    (winner, version), (_, error) = *versions.items(), *errors.items()
    assert version == 1
    assert str(error).startswith(f"{TABLE}: a concurrent write to the table committed first")
    assert "was not committed" in str(error)
    # Nothing lost, nothing mixed: the winner's rows only, and the old version intact.
    assert storage.version(TABLE) == 1
    assert_rows(storage.read(TABLE), frame(spark, writes[winner]))
    assert_rows(storage.read(TABLE, version=0), frame(spark, FIRST))
    # The loser's files are unreferenced: readers never saw them, cleanup removes them.
    storage.remove_orphans(TABLE, older_than=timedelta(0))
    assert_rows(storage.read(TABLE), frame(spark, writes[winner]))


def _data_files(folder: Path) -> set[str]:
    return {
        str(p.relative_to(folder)) for p in folder.rglob("*.parquet") if "_delta_log" not in p.parts
    }


def test_remove_orphans_deletes_only_files_no_version_references(
    storage: Storage, spark: SparkSession
) -> None:
    storage.write(frame(spark, FIRST + SECOND), TABLE, partition_by=["batch"])
    storage.write(frame(spark, SECOND), TABLE, replace_where={"batch": "2025-02"})
    folder = Path(storage.path(TABLE))
    live = _data_files(folder)
    # What a driver killed mid-write leaves: Parquet files the log never names, in a
    # staging folder (delta-rs) or next to the live files (delta-spark).
    source = folder / sorted(live)[0]
    (folder / "write-killed" / "batch=2025-01").mkdir(parents=True)
    old = [folder / "write-killed" / "batch=2025-01" / "part-0.parquet", folder / "part-9.parquet"]
    young = folder / "part-8.parquet"
    for orphan in [*old, young]:
        shutil.copy(source, orphan)
    an_hour_ago = time.time() - 3600
    for orphan in old:
        os.utime(orphan, (an_hour_ago, an_hour_ago))

    assert_rows(storage.read(TABLE), frame(spark, FIRST + SECOND))
    expected = sorted(str(p.relative_to(folder)) for p in old)
    assert storage.remove_orphans(TABLE, timedelta(minutes=30), dry_run=True) == expected
    assert all(p.exists() for p in old)

    assert storage.remove_orphans(TABLE, timedelta(minutes=30)) == expected

    assert _data_files(folder) == live | {"part-8.parquet"}
    assert not (folder / "write-killed").exists()
    # Every version stays readable, the replaced partition's old files included.
    assert_rows(storage.read(TABLE), frame(spark, FIRST + SECOND))
    assert_rows(storage.read(TABLE, version=0), frame(spark, FIRST + SECOND))
    assert storage.remove_orphans(TABLE, timedelta(0)) == ["part-8.parquet"]
