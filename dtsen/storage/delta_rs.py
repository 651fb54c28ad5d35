"""Offline Delta engine: Spark moves the data, delta-rs (``deltalake``) writes the log.

Why: delta-spark needs its JARs on the JVM classpath, and machines without access to
a Maven repository cannot fetch them. Here the executors still write and read every
Parquet file; the driver handles only file metadata (paths, sizes, Parquet footers)
and commits it with delta-rs. The result is a standard Delta table that delta-spark,
delta-rs and other Delta readers open as usual.

Writing: Spark writes ``df`` into a fresh folder ``<table>/write-<uuid>/`` (with
``col=value`` sub-folders when partitioned); the driver lists the Parquet files, reads
each footer for its row count and commits them as ``add`` actions in one transaction.
Until that commit the files are invisible. A failed Spark write or a failed check
removes the folder, and so does a commit that lost to a concurrent writer
(``CommitFailedError``); any other failed commit, or a killed driver, leaves
unreferenced files for ``Storage.remove_orphans``, never deletes files a commit might
already reference.

Reading: the add actions of the wanted version name the files; Spark reads their data
columns and gets the partition columns from the log through a broadcast join on the
file. Upsert is copy-on-write: only the files holding matched keys are rewritten, and
their ``remove`` actions go in the same commit as the new files.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from deltalake import DeltaTable
from deltalake import Schema as DeltaSchema
from deltalake.exceptions import CommitFailedError, DeltaError
from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.types import StringType, StructField, StructType

from dtsen.errors import StorageError

log = logging.getLogger(__name__)

STAGE_PREFIX = "write-"
"""Folder (under the table root) of the files of one write."""
FILE_KEY = "_dtsen_file"
"""Internal column: which log file a row was read from."""
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
"""Spark's folder value for a null (or empty) partition value."""
FOOTER_THREADS = 8
"""Parallel footer reads: on object stores each one is a round trip."""


@dataclass(frozen=True)
class LogFile:
    """A data file of one table version, as the Delta log describes it."""

    path: str
    """Relative to the table root, exactly as on storage (not URI-encoded)."""
    size: int
    partition_values: dict[str, Any]
    """Typed values (date, int, ...) as delta-rs parses them; None for null."""


def _filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    """pyarrow filesystem and path of ``uri`` (a local path or a URI).

    pyarrow names S3 ``s3://``; Hadoop's S3A connector (used by Spark) ``s3a://``.
    """
    return pafs.FileSystem.from_uri(re.sub(r"^s3a://", "s3://", uri))


def spark_schema(table: DeltaTable) -> StructType:
    """The table's Spark schema: Delta's schema JSON is Spark's own serialisation."""
    return StructType.fromJson(json.loads(table.schema().to_json()))


def delta_schema(schema: StructType) -> DeltaSchema:
    """Delta schema of a new table holding ``schema``'s columns, all nullable.

    Nullable because Spark's nullability describes one query plan, not the table: a
    later append may carry nulls where the first write had none.
    """
    nullable = StructType([StructField(f.name, f.dataType, True, f.metadata) for f in schema])
    return DeltaSchema.from_arrow(to_arrow_schema(nullable))


def partition_values(relative: str, partition_by: list[str]) -> dict[str, str | None]:
    """Partition values of a file Spark wrote, parsed from its ``col=value`` folders.

    Args:
        relative: path below the table root: ``<stage>/<col>=<value>/.../<file>``.
        partition_by: the expected partition columns, in folder order.

    Raises:
        StorageError: the folders are not the expected partition columns.
    """
    folders = [folder.split("=", 1) for folder in relative.split("/")[1:-1]]
    names = [unquote(pair[0]) for pair in folders]
    if names != partition_by or any(len(pair) != 2 for pair in folders):
        raise StorageError(f"{relative}: expected partition folders for {partition_by}")
    return {
        name: None if value == HIVE_NULL else unquote(value)
        for name, (_, value) in zip(names, folders, strict=True)
    }


def _is_data_file(relative: str) -> bool:
    """Parquet files only: not ``_SUCCESS``, ``.crc`` checksums or ``_temporary`` leftovers."""
    # Partition folders are "<col>=<value>" and may start with "_" (e.g. _ingest_batch).
    return relative.endswith(".parquet") and not any(
        segment.startswith(("_", ".")) and "=" not in segment for segment in relative.split("/")
    )


def _add_action(
    fs: pafs.FileSystem, base: str, info: pafs.FileInfo, partition_by: list[str]
) -> AddAction:
    """The ``add`` action of one written file; reads only its Parquet footer."""
    relative = info.path[len(base) + 1 :]
    rows = pq.read_metadata(info.path, filesystem=fs).num_rows
    return AddAction(
        # delta-rs URI-encodes this path into the log itself: pass it as on storage.
        path=relative,
        size=info.size,
        partition_values=partition_values(relative, partition_by),
        modification_time=info.mtime_ns // 1_000_000,
        data_change=True,
        stats=json.dumps({"numRecords": rows}),
    )


def staged_add_actions(path: str, folder: str, partition_by: list[str]) -> list[AddAction]:
    """``add`` actions for every Parquet file Spark wrote under ``<path>/<folder>``."""
    fs, base = _filesystem(path)
    infos = fs.get_file_info(pafs.FileSelector(f"{base}/{folder}", recursive=True))
    files = [
        info
        for info in infos
        if info.type == pafs.FileType.File and _is_data_file(info.path[len(base) + 1 :])
    ]
    with ThreadPoolExecutor(max_workers=FOOTER_THREADS) as pool:
        return list(pool.map(lambda info: _add_action(fs, base, info, partition_by), files))


def _remove_folder(path: str, folder: str) -> None:
    """Delete the files of a write that will never be committed."""
    fs, base = _filesystem(path)
    target = f"{base}/{folder}"
    if fs.get_file_info(target).type != pafs.FileType.NotFound:
        fs.delete_dir(target)
        log.info("removed uncommitted files in %s/%s", path, folder)


def _check_replace_where(path: str, adds: list[AddAction], replace_where: dict[str, str]) -> None:
    """Refuse files outside the replaced partition: they would survive the next replace.

    delta-rs removes the partition's old files but does not check the new ones.
    """
    for add in adds:
        outside = {
            c: add.partition_values[c]
            for c, v in replace_where.items()
            if add.partition_values[c] != v
        }
        if outside:
            raise StorageError(
                f"{path}: replace_where {replace_where} but the data has rows with {outside}"
            )


def log_files(table: DeltaTable) -> list[LogFile]:
    """The data files of ``table``'s loaded version."""
    actions = pa.table(table.get_add_actions(flatten=False)).to_pylist()
    # The log stores paths URI-encoded (delta-rs reports them so); storage has them decoded.
    return [
        LogFile(unquote(action["path"]), action["size_bytes"], action.get("partition") or {})
        for action in actions
    ]


def file_key(relative: str, depth: int) -> str:
    """The last ``depth`` path segments: partition folders plus file name.

    The file name alone is not unique: one Spark task writing several partitions
    names each partition's file ``part-<task>-<job uuid>.c000...`` alike.
    """
    return "/".join(relative.split("/")[-depth:])


def _file_key_column(depth: int) -> Column:
    """``file_key`` of each row's file, computed by Spark from ``_metadata.file_path``.

    That path is URI-encoded by Hadoop; ``url_decode`` decodes it but as a form (``+``
    means space), so literal ``+`` signs are protected first.
    """
    encoded = F.replace(F.col("_metadata.file_path"), F.lit("+"), F.lit("%2B"))
    return F.array_join(F.slice(F.split(F.url_decode(encoded), "/"), -depth, depth), "/")


def _load(path: str, version: int | None = None) -> DeltaTable:
    """The table at ``path`` (latest or ``version``); delta-rs errors become StorageError."""
    try:
        return DeltaTable(path, version=version)
    except DeltaError as exc:
        raise StorageError(f"{path}: cannot load Delta table version {version}: {exc}") from exc


class DeltaRsEngine:
    """Reads and writes Delta tables with Spark for data and delta-rs for the log."""

    name = "delta-rs"
    conflicts = (CommitFailedError,)

    def __init__(self, spark: SparkSession) -> None:
        self._spark = spark

    def exists(self, path: str) -> bool:
        """Whether ``path`` holds a Delta table."""
        return DeltaTable.is_deltatable(path)

    def version(self, path: str) -> int:
        """Latest committed version."""
        return _load(path).version()

    def schema(self, path: str) -> StructType:
        """The table's Spark schema."""
        return spark_schema(_load(path))

    def partition_columns(self, path: str) -> list[str]:
        """The table's partition columns, in order."""
        return list(_load(path).metadata().partition_columns)

    def write(
        self,
        df: DataFrame,
        path: str,
        mode: str,
        partition_by: list[str],
        replace_where: dict[str, str] | None,
    ) -> int:
        """Write ``df`` as new files and commit them (replacing per ``mode``) at once.

        The table's version is read before the files are written, so a commit by
        another writer in between is a conflict (``CommitFailedError``), as in
        delta-spark; the losing write's files are removed.
        """
        table = _load(path) if self.exists(path) else None
        folder, adds = self._stage(df, path, partition_by, replace_where or {})
        try:
            if table is None:
                create_table_with_add_actions(
                    path, delta_schema(df.schema), adds, mode="error", partition_by=partition_by
                )
                return 0
            filters = [(c, "=", v) for c, v in (replace_where or {}).items()] or None
            table.create_write_transaction(
                adds, mode, table.schema(), partition_by, partition_filters=filters
            )
        except CommitFailedError:
            _remove_folder(path, folder)
            raise
        except DeltaError as exc:
            if table is None and "already exists" in str(exc):
                _remove_folder(path, folder)
                raise CommitFailedError(f"{path}: another writer created the table") from exc
            raise
        return self.version(path)

    def read(self, path: str, version: int | None) -> DataFrame:
        """The latest rows, or those of ``version``."""
        table = _load(path, version)
        return self._scan(path, table, log_files(table)).drop(FILE_KEY)

    def upsert(self, df: DataFrame, path: str, keys: list[str]) -> int:
        """Merge ``df`` by ``keys`` copy-on-write; create the table if absent.

        Only files holding a matched key are rewritten (their other rows plus, in the
        new files, all of ``df``); their ``remove`` actions and the new ``add`` actions
        form one commit. ``create_write_transaction`` in deltalake 1.6.6 accepts
        ``RemoveAction`` with mode ``append``; the removed path must be given decoded
        like an added one (an encoded path matches no file and is silently ignored).
        """
        if not self.exists(path):
            return self.write(df, path, "overwrite", [], None)
        table = _load(path)
        files = log_files(table)
        partitions = list(table.metadata().partition_columns)
        matched = (
            self._scan(path, table, files)
            .join(df.select(*keys), keys, "left_semi")
            .select(FILE_KEY)
            .distinct()
            .collect()
        )
        depth = len(partitions) + 1
        touched_keys = {row[FILE_KEY] for row in matched}
        touched = [f for f in files if file_key(f.path, depth) in touched_keys]
        kept = (
            self._scan(path, table, touched)
            .drop(FILE_KEY)
            .join(df.select(*keys), keys, "left_anti")
        )
        folder, adds = self._stage(kept.unionByName(df), path, partitions, {})
        now = int(time.time() * 1000)
        removes = [RemoveAction(f.path, True, now, f.size) for f in touched]
        # Partition values are optional on remove actions; delta-rs exposes them only typed.
        try:
            table.create_write_transaction([*adds, *removes], "append", table.schema(), partitions)
        except CommitFailedError:
            _remove_folder(path, folder)
            raise
        log.info("%s: upsert rewrote %d files into %d", path, len(removes), len(adds))
        return self.version(path)

    def history(self, path: str) -> list[dict[str, Any]]:
        """Commits, newest first."""
        entries = [
            {
                "version": int(entry["version"]),
                "timestamp": datetime.fromtimestamp(entry["timestamp"] / 1000, tz=UTC),
                "operation": entry["operation"],
            }
            for entry in _load(path).history()
        ]
        return sorted(entries, key=lambda entry: entry["version"], reverse=True)

    def _stage(
        self, df: DataFrame, path: str, partition_by: list[str], replace_where: dict[str, str]
    ) -> tuple[str, list[AddAction]]:
        """Write ``df`` as Parquet into a fresh folder of the table; commit nothing.

        Returns the folder (relative to the table) and the files' ``add`` actions. On
        any failure the folder is removed, so a failed write leaves no files.
        """
        folder = f"{STAGE_PREFIX}{uuid.uuid4().hex}"
        try:
            writer = df.write.mode("error")
            if partition_by:
                writer = writer.partitionBy(*partition_by)
            writer.parquet(f"{path}/{folder}")
            adds = staged_add_actions(path, folder, partition_by)
            _check_replace_where(path, adds, replace_where)
        except BaseException:
            _remove_folder(path, folder)
            raise
        return folder, adds

    def _scan(self, path: str, table: DeltaTable, files: list[LogFile]) -> DataFrame:
        """Rows of ``files`` with the table's columns plus ``FILE_KEY``.

        Spark reads only the data columns; partition columns come from the log, joined
        by file, so values and types are the table's (not guessed from folder names).
        """
        schema = spark_schema(table)
        keyed = StructType([*schema.fields, StructField(FILE_KEY, StringType())])
        if not files:
            return self._spark.createDataFrame([], keyed)
        partitions = list(table.metadata().partition_columns)
        depth = len(partitions) + 1
        data_schema = StructType([f for f in schema.fields if f.name not in partitions])
        rows = (
            self._spark.read.schema(data_schema)
            .parquet(*(f"{path}/{f.path}" for f in files))
            .withColumn(FILE_KEY, _file_key_column(depth))
        )
        if partitions:
            rows = rows.join(
                F.broadcast(self._partition_map(path, files, schema, partitions)), FILE_KEY
            )
        return rows.select(*keyed.fieldNames())

    def _partition_map(
        self, path: str, files: list[LogFile], schema: StructType, partitions: list[str]
    ) -> DataFrame:
        """Small frame of ``FILE_KEY`` and each file's typed partition values."""
        depth = len(partitions) + 1
        rows = [
            (file_key(f.path, depth), *(f.partition_values[p] for p in partitions)) for f in files
        ]
        if len({row[0] for row in rows}) != len(rows):
            raise StorageError(
                f"{path}: two data files end in the same partition folders and file name; "
                "cannot tell their partition values apart"
            )
        fields = [StructField(FILE_KEY, StringType(), False)]
        fields += [StructField(p, schema[p].dataType, True) for p in partitions]
        return self._spark.createDataFrame(rows, StructType(fields))
