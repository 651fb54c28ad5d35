"""Delta tables of the warehouse, written and read through one of two engines.

Jobs name tables as ``"<layer>/<name>"`` (e.g. ``"bronze/regsosek_individu"``); a table
lives at ``<root>/<layer>/<name>``. Every write is a single Delta commit, so readers
see a table either before or after a write, never half of it.

Two engines give the same contract:

* ``delta-spark``: Delta's own Spark integration; needs its JARs on the JVM classpath
  (``DTSEN_DELTA_JARS``), which offline machines may not have.
* ``delta-rs``: Spark writes and reads the Parquet files, the ``deltalake`` package
  (delta-rs) writes the Delta log. Works without any JAR.

``Storage`` checks everything that does not depend on the engine (table names, modes,
schemas, partition columns, duplicate upsert keys) so both engines fail the same way.
Two writers on one table at once: each engine commits optimistically against the
version it read when the write began; the first commit wins and the other write fails
with ``StorageConflictError`` naming the table, without committing anything (its files
stay invisible until ``remove_orphans`` deletes them). Version numbers returned by
writes assume one writer per table at a time, as the pipeline's stages guarantee.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from dtsen.config import Config
from dtsen.errors import StorageConflictError, StorageError
from dtsen.session import has_delta_classes
from dtsen.storage import orphans
from dtsen.storage.delta_rs import DeltaRsEngine
from dtsen.storage.delta_spark import DeltaSparkEngine
from dtsen.storage.manifest import COMPLETE, FAILED, Run, published_versions
from dtsen.storage.manifest import record as record_run

__all__ = ["Storage", "open_storage", "table_path"]

log = logging.getLogger(__name__)

ENGINES = ("auto", "delta-spark", "delta-rs")
WriteMode = Literal["overwrite", "append"]


class Engine(Protocol):
    """What ``Storage`` needs from an engine; paths are full table paths or URIs."""

    name: str
    conflicts: tuple[type[BaseException], ...]
    """The engine's exceptions for a commit that lost to a concurrent one."""

    def exists(self, path: str) -> bool: ...

    def version(self, path: str) -> int: ...

    def schema(self, path: str) -> StructType: ...

    def partition_columns(self, path: str) -> list[str]: ...

    def write(
        self,
        df: DataFrame,
        path: str,
        mode: WriteMode,
        partition_by: list[str],
        replace_where: dict[str, str] | None,
    ) -> int: ...

    def read(self, path: str, version: int | None) -> DataFrame: ...

    def upsert(self, df: DataFrame, path: str, keys: list[str]) -> int: ...

    def history(self, path: str) -> list[dict[str, Any]]: ...


def choose_engine(spark: SparkSession, engine: str) -> str:
    """Resolve ``auto`` and refuse a forced ``delta-spark`` that cannot work.

    Raises:
        StorageError: the engine name is unknown, or ``delta-spark`` is forced while its
            JVM classes are not loadable (a clear message beats a Py4J stack trace later).
    """
    if engine not in ENGINES:
        raise StorageError(f"storage.engine: unknown engine {engine!r}, expected one of {ENGINES}")
    if engine == "delta-rs":
        return engine
    available = has_delta_classes(spark)
    if engine == "delta-spark" and not available:
        raise StorageError(
            "storage.engine=delta-spark, but delta-spark's JVM classes "
            "(io.delta.tables.DeltaTable) are not on the classpath: set DTSEN_DELTA_JARS "
            "to the delta-spark JARs, or use storage.engine=auto or delta-rs"
        )
    return "delta-spark" if available else "delta-rs"


def table_path(root: str, table: str) -> str:
    """Location of table ``"<layer>/<name>"`` under ``root``.

    Raises:
        StorageError: the name is not exactly two non-empty, plain path segments.
    """
    parts = table.split("/")
    if len(parts) != 2 or any(p in ("", ".", "..") for p in parts):
        raise StorageError(f"table name {table!r}: expected '<layer>/<name>'")
    return f"{root}/{table}"


def normalise_root(root: str) -> str:
    """Absolute root, so Spark and delta-rs resolve a relative folder the same way."""
    if "://" in root:
        return root.rstrip("/")
    return str(Path(root).expanduser().resolve())


def _schema_differences(table_schema: StructType, data_schema: StructType) -> list[str]:
    """Columns missing, unexpected or of another type; nullability is ignored.

    ``simpleString`` leaves out nullability at every nesting level, which Spark
    derives from the query plan rather than from the data.
    """
    expected = {f.name: f.dataType.simpleString() for f in table_schema}
    actual = {f.name: f.dataType.simpleString() for f in data_schema}
    missing = [
        f"missing column {name} ({kind})" for name, kind in expected.items() if name not in actual
    ]
    extra = [
        f"unexpected column {name} ({kind})"
        for name, kind in actual.items()
        if name not in expected
    ]
    changed = [
        f"column {name} is {actual[name]}, table has {kind}"
        for name, kind in expected.items()
        if name in actual and actual[name] != kind
    ]
    return missing + extra + changed


class Storage:
    """The warehouse: Delta tables under one root, accessed through one engine."""

    def __init__(self, spark: SparkSession, root: str, engine: str = "auto") -> None:
        """Pick the engine (see ``choose_engine``) for tables under ``root``.

        Raises:
            StorageError: the engine is unknown or cannot work in this session.
        """
        self.spark = spark
        self.run: Run | None = None
        """The stage run in progress (see :meth:`begin`), or None."""
        self.pins: dict[str, int] = {}
        """Table -> the version :meth:`read` returns by default (published versions)."""
        self.root = normalise_root(root)
        self.engine = choose_engine(spark, engine)
        self._engine: Engine = (
            DeltaSparkEngine(spark) if self.engine == "delta-spark" else DeltaRsEngine(spark)
        )
        log.info("storage root=%s engine=%s", self.root, self.engine)

    def path(self, table: str) -> str:
        """Location of ``"<layer>/<name>"`` under the root.

        Raises:
            StorageError: the name is not exactly two non-empty, plain path segments.
        """
        return table_path(self.root, table)

    def exists(self, table: str) -> bool:
        """Whether a Delta table exists at the table's path."""
        return self._engine.exists(self.path(table))

    def write(
        self,
        df: DataFrame,
        table: str,
        mode: WriteMode = "overwrite",
        partition_by: list[str] | None = None,
        replace_where: dict[str, str] | None = None,
        record: bool = True,
    ) -> int:
        """Write ``df`` to ``table`` in one commit and return the new table version.

        Args:
            df: rows to write; on an existing table its columns and types must match.
            table: ``"<layer>/<name>"``; created when absent.
            mode: ``overwrite`` replaces the table's rows, ``append`` adds to them.
            partition_by: partition columns of a new table; on an existing table, omit
                it or repeat the table's own partition columns.
            replace_where: with ``overwrite`` only: replace just the rows whose partition
                columns equal these values (e.g. one ``_ingest_batch``), keep the rest.
                Every row of ``df`` must belong to that partition.
            record: note the new version in the run's manifest (the manifest's own
                write is not recorded).

        Raises:
            StorageError: bad mode, schema or partition columns (the message names the
                table and the columns).
        """
        path = self.path(table)
        if mode not in ("overwrite", "append"):
            raise StorageError(
                f"{table}: unknown write mode {mode!r}, expected overwrite or append"
            )
        if replace_where and mode != "overwrite":
            raise StorageError(f"{table}: replace_where needs mode='overwrite', got {mode!r}")
        partitions = self._partitions_for_write(df, table, path, partition_by)
        not_partitions = sorted(set(replace_where or {}) - set(partitions))
        if not_partitions:
            raise StorageError(
                f"{table}: replace_where columns {not_partitions} are not partition columns "
                f"(partition columns: {partitions})"
            )
        # The write runs the frame's whole plan: named in the Spark UI, timed in the log.
        context = df.sparkSession.sparkContext
        stage = context.getLocalProperty("spark.job.description")
        context.setJobDescription(f"{stage}: write {table}" if stage else f"write {table}")
        started = time.monotonic()
        try:
            version = self._engine.write(df, path, mode, partitions, replace_where)
        except self._engine.conflicts as exc:
            raise self._conflict(table, mode, exc) from exc
        finally:
            context.setJobDescription(stage)
        log.info("%s: %s -> version %d (%.1f s)", table, mode, version, time.monotonic() - started)
        if record:
            self._wrote(table, version)
        return version

    def read(self, table: str, version: int | None = None, record: bool = True) -> DataFrame:
        """Rows of ``table``: ``version`` (time travel), else the published version.

        The published version is the one the newest complete run that wrote the table
        left (``pins``, see ``dtsen.storage.manifest``); a table this run wrote itself, or
        one no manifest names, is read at its latest version. The version read is noted
        in the run's manifest (unless ``record`` is false).

        Raises:
            StorageError: no table at the path, or no such version.
        """
        path = self._existing(table)
        latest = self._engine.version(path)
        own = self.run is not None and table in self.run.written
        if version is None and not own:
            version = self.pins.get(table)
        if version is not None and not 0 <= version <= latest:
            raise StorageError(f"{table} ({path}): no version {version}, latest is {latest}")
        if record and self.run is not None and not own:
            self.run.read[table] = latest if version is None else version
        return self._engine.read(path, None if version == latest else version)

    def published_version(self, table: str) -> int:
        """The version :meth:`read` returns for ``table`` by default."""
        own = self.run is not None and table in self.run.written
        return self.version(table) if own else self.pins.get(table, self.version(table))

    def begin(self, stage: str) -> Run:
        """Start recording a run of ``stage``; reads now default to published versions."""
        self.pins = published_versions(self)
        self.run = Run(stage)
        return self.run

    def pin(self, versions: dict[str, int]) -> None:
        """Read these tables at these versions (e.g. what an earlier run read)."""
        self.pins = {**self.pins, **versions}

    def note(self, key: str, value: str) -> None:
        """Add a fact to the run's manifest (``periode``, ``input_batch``, ``model_uri``)."""
        if self.run is not None:
            self.run.notes[key] = value

    def finish(self, error: BaseException | None = None) -> None:
        """Append the run's manifest, ``COMPLETE`` or (with ``error``) ``FAILED``."""
        if self.run is None:
            return
        run, self.run = self.run, None
        status = FAILED if error is not None else COMPLETE
        reason = None if error is None else f"{type(error).__name__}: {error}"[:500]
        record_run(self, run, status, reason)

    def _wrote(self, table: str, version: int) -> None:
        if self.run is not None:
            self.run.written[table] = version

    def upsert(self, df: DataFrame, table: str, keys: list[str]) -> int:
        """Merge ``df`` into ``table`` by ``keys`` in one commit; return the new version.

        Rows whose key exists replace the existing row, the others are inserted; the
        table is created when absent. As in a Delta MERGE on ``t.k = s.k``, a null key
        never matches, so such rows are inserted.

        Raises:
            StorageError: a key column is missing or the schema differs from the table's.
            StorageConflictError: ``df`` repeats a key, so the result would be ambiguous.
        """
        path = self.path(table)
        missing = [k for k in keys if k not in df.columns]
        if not keys or missing:
            raise StorageError(f"{table}: upsert keys {keys} missing from the data: {missing}")
        if self._engine.exists(path):
            self._check_schema(df, table, path)
        repeated = df.groupBy(*keys).count().filter(F.col("count") > 1).limit(1).collect()
        if repeated:
            row = repeated[0].asDict()
            raise StorageConflictError(
                f"{table}: upsert source repeats key {keys} = "
                f"{[row[k] for k in keys]} ({row['count']} rows)"
            )
        try:
            version = self._engine.upsert(df, path, keys)
        except self._engine.conflicts as exc:
            raise self._conflict(table, "upsert", exc) from exc
        log.info("%s: upsert on %s -> version %d", table, keys, version)
        self._wrote(table, version)
        return version

    def history(self, table: str) -> list[dict[str, Any]]:
        """Commits of ``table``, newest first: ``version``, ``timestamp`` (UTC), ``operation``.

        Raises:
            StorageError: no table at the path.
        """
        return self._engine.history(self._existing(table))

    def version(self, table: str) -> int:
        """Latest version of ``table``.

        Raises:
            StorageError: no table at the path.
        """
        return self._engine.version(self._existing(table))

    def remove_orphans(
        self, table: str, older_than: timedelta = timedelta(hours=24), dry_run: bool = False
    ) -> list[str]:
        """Delete the files in ``table``'s folder that no Delta version references.

        What a killed driver or a write that lost a commit race leaves behind; readers
        never see such files. Files modified within ``older_than`` are kept, since a
        write still running has not committed its files yet: keep it longer than any
        stage runs. Every version in the log stays readable (unlike ``VACUUM``).

        Returns:
            The deleted paths, relative to the table (with ``dry_run``: those it would
            delete).

        Raises:
            StorageError: no table at the path.
        """
        path = self._existing(table)
        return orphans.remove_orphans(path, older_than, dry_run=dry_run)

    def _conflict(self, table: str, operation: str, exc: BaseException) -> StorageConflictError:
        return StorageConflictError(
            f"{table}: a concurrent write to the table committed first, so this {operation} "
            f"was not committed and none of its rows are visible ({self.engine}: "
            f"{type(exc).__name__}); re-run the stage once the other writer has finished"
        )

    def _existing(self, table: str) -> str:
        path = self.path(table)
        if not self._engine.exists(path):
            raise StorageError(f"{table}: no Delta table at {path}")
        return path

    def _check_schema(self, df: DataFrame, table: str, path: str) -> None:
        differences = _schema_differences(self._engine.schema(path), df.schema)
        if differences:
            raise StorageError(f"{table} ({path}): schema differs: {'; '.join(differences)}")

    def _partitions_for_write(
        self, df: DataFrame, table: str, path: str, partition_by: list[str] | None
    ) -> list[str]:
        """Partition columns of the write: the table's own when it exists."""
        missing = [c for c in partition_by or [] if c not in df.columns]
        if missing:
            raise StorageError(f"{table}: partition columns {missing} are not in the data")
        if not self._engine.exists(path):
            return list(partition_by or [])
        self._check_schema(df, table, path)
        existing = self._engine.partition_columns(path)
        if partition_by is not None and list(partition_by) != existing:
            raise StorageError(
                f"{table}: partition_by {list(partition_by)} differs from the table's "
                f"partition columns {existing}"
            )
        return existing


def open_storage(spark: SparkSession, cfg: Config) -> Storage:
    """The warehouse of ``cfg``: ``storage.root`` with ``storage.engine``."""
    return Storage(spark, cfg.storage.root, cfg.storage.engine)
