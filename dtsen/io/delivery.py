"""A delivery's files through Hadoop's FileSystem API, and its records as Spark reads them.

Going through the JVM's Hadoop FileSystem (not Python's ``os``) means the same code
lists and reads a delivery on a local disk, HDFS, S3 or ADLS: whatever Spark itself
can read. Only metadata and single header lines pass through the driver.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import re
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from delivery.ingestion.mapping import TableSpec
from delivery.ingestion.validate import (
    csv_records,
    has_open_quotes,
    join_multiline,
    parquet_records,
)
from dtsen.errors import BadDeliveryError
from dtsen.io.files import exists, hadoop_path, read_text

log = logging.getLogger("dtsen.ingest")

_EXTENSIONS = {"csv": (".csv",), "parquet": (".parquet",)}


@dataclass(frozen=True)
class DeliveredFile:
    uri: str
    name: str
    size: int


class Delivery:
    """One delivery root (``--input``), read through Hadoop's FileSystem."""

    def __init__(self, spark: SparkSession, root: str) -> None:
        self._spark = spark
        self._jvm = spark._jvm  # the Hadoop FS API is only reachable via py4j
        self.root = root.rstrip("/")

    def exists(self, relative: str) -> bool:
        path, fs = hadoop_path(self._spark, f"{self.root}/{relative}")
        return bool(fs.exists(path))

    def table_files(self, relative: str, fmt: str) -> list[DeliveredFile]:
        """Files of one table: ``<relative>.<ext>`` or the part files in ``<relative>/``.

        Hidden and marker files (``.crc``, ``_SUCCESS``) are skipped; the list is sorted
        so every run reads files in the same order.
        """
        for ext in _EXTENSIONS[fmt]:
            single, fs = hadoop_path(self._spark, f"{self.root}/{relative}{ext}")
            if fs.exists(single) and fs.getFileStatus(single).isFile():
                status = fs.getFileStatus(single)
                return [
                    DeliveredFile(
                        str(status.getPath().toString()), single.getName(), status.getLen()
                    )
                ]
        folder, fs = hadoop_path(self._spark, f"{self.root}/{relative}")
        if not fs.exists(folder) or not fs.getFileStatus(folder).isDirectory():
            return []
        files = []
        for status in fs.listStatus(folder):
            name = status.getPath().getName()
            if status.isFile() and not name.startswith((".", "_")):
                files.append(DeliveredFile(str(status.getPath().toString()), name, status.getLen()))
        return sorted(files, key=lambda f: f.name)

    def first_line(self, file: DeliveredFile) -> str | None:
        """The first line of a text file (its CSV header) as written, a UTF-8 BOM included."""
        path, fs = hadoop_path(self._spark, file.uri)
        stream = fs.open(path)
        try:
            reader = self._jvm.java.io.BufferedReader(
                self._jvm.java.io.InputStreamReader(stream, "UTF-8")
            )
            line = reader.readLine()
        finally:
            stream.close()
        return None if line is None else str(line)

    def ends(self, file: DeliveredFile, size: int = 4) -> tuple[bytes, bytes]:
        """The first and last ``size`` bytes of a file (e.g. Parquet's magic numbers)."""
        if file.size < size:
            return b"", b""
        path, fs = hadoop_path(self._spark, file.uri)
        io = self._jvm.org.apache.commons.io.IOUtils
        stream = fs.open(path)
        try:
            head = bytes(io.toByteArray(stream, size))
            stream.seek(file.size - size)
            tail = bytes(io.toByteArray(stream, size))
        finally:
            stream.close()
        return head, tail

    def fingerprint(self, tables: list[tuple[str, str]]) -> str:
        """A batch id from the delivered files' relative names and sizes (not times).

        Copying a delivery elsewhere keeps its batch id, so re-ingesting it replaces
        the same batch instead of adding a second copy.
        """
        digest = hashlib.sha256()
        for relative, fmt in sorted(tables):
            for f in self.table_files(relative, fmt):
                digest.update(f"{relative}/{f.name}:{f.size}\n".encode())
        return digest.hexdigest()[:16]


_PARQUET_MAGIC = b"PAR1"


def _unreadable(delivery: Delivery, file: DeliveredFile, fmt: str) -> str | None:
    """Why a delivered file cannot be read as ``fmt`` (from its first and last bytes)."""
    head, tail = delivery.ends(file)
    if fmt == "parquet":
        if head != _PARQUET_MAGIC:
            return "not a Parquet file (no PAR1 magic number at its start)"
        if tail != _PARQUET_MAGIC:
            return "truncated Parquet file (no PAR1 magic number at its end: footer missing)"
    elif head == _PARQUET_MAGIC:
        return "a Parquet file where the mapping expects CSV text"
    elif b"\x00" in head:
        return "binary data where the mapping expects CSV text"
    return None


def _check_readable(delivery: Delivery, files: list[DeliveredFile], spec: TableSpec) -> None:
    for f in files:
        why = _unreadable(delivery, f, spec.format)
        if why:
            raise BadDeliveryError(f"{spec.path}/{f.name}: {why}")


def _header(
    delivery: Delivery, files: list[DeliveredFile], spec: TableSpec
) -> tuple[list[str], set[str]]:
    """The header shared by all part files (required columns must be in it), and every
    header line as written (with or without a BOM, quoted or not), to drop them.
    """
    headers, written = {}, set()
    for f in files:
        line = delivery.first_line(f)
        if line is not None:
            # Hadoop's line reader drops a leading BOM, first_line does not: keep both.
            line = line.removeprefix("\ufeff")
            written |= {line, "\ufeff" + line}
            if "\ufffd" in line:
                raise BadDeliveryError(f"{spec.path}/{f.name}: header is not UTF-8 text")
            headers[f.name] = next(csv.reader([line], delimiter=spec.delimiter))
    distinct = {tuple(h) for h in headers.values()}
    if len(distinct) > 1:
        raise BadDeliveryError(
            f"{spec.path}: part files have different headers: {sorted(distinct)}"
        )
    header = [h.strip() for h in next(iter(distinct))]
    for name, column in spec.columns.items():
        if name not in header and column.required:
            file = next(iter(headers))
            raise BadDeliveryError(
                f"{spec.path}/{file}: missing required column {name!r} "
                f"(header has {len(header)} columns: {', '.join(header)})"
            )
    return header, written


def _source_file(spec: TableSpec, files: list[DeliveredFile]) -> F.Column:
    """The file a row came from, relative to the delivery root (no local paths)."""
    name = F.element_at(F.split(F.col("_metadata.file_path"), "/"), -1)
    single = len(files) == 1 and files[0].name.startswith(spec.path.rsplit("/", 1)[-1] + ".")
    folder = spec.path.rsplit("/", 1)[0] if single else spec.path
    return F.concat(F.lit(folder + "/"), name)


def read_records(spark: SparkSession, delivery: Delivery, spec: TableSpec) -> DataFrame | None:
    """The table's records in the validation shape, or None when it was not delivered."""
    files = [f for f in delivery.table_files(spec.path, spec.format) if f.size > 0]
    if not files:
        return None
    _check_readable(delivery, files, spec)
    uris = [f.uri for f in files]
    if spec.format == "parquet":
        raw = spark.read.parquet(*uris)
        missing = [n for n, c in spec.columns.items() if c.required and n not in raw.columns]
        if missing:
            raise BadDeliveryError(
                f"{spec.path}: missing required column {missing[0]!r} "
                f"(file has: {', '.join(raw.columns)})"
            )
        present = [n for n in spec.columns if n in raw.columns]
        records = parquet_records(
            raw.withColumn("_source_file", _source_file(spec, files)), present
        )
    else:
        header, header_lines = _header(delivery, files, spec)
        lines = spark.read.text(uris).select(
            "value",
            _source_file(spec, files).alias("_source_file"),
            F.col("_metadata.file_path").alias("_file"),
            F.col("_metadata.file_block_start").alias("_block"),
            F.monotonically_increasing_id().alias("_pos"),
        )
        # Every part file starts with the header; any line equal to one is a header.
        lines = lines.where(~F.col("value").isin(*header_lines))
        if has_open_quotes(lines):
            log.info("%s: quoted fields span lines: joining them into records", spec.path)
            lines = join_multiline(lines)
        records = csv_records(lines.select("value", "_source_file"), header, spec.delimiter)
        unknown = [h for h in header if h not in spec.columns]
        if unknown:
            log.warning("%s: columns not in the mapping are ignored: %s", spec.path, unknown)
    for name in spec.columns:
        if name not in records.columns:
            log.warning("%s: optional column %s not delivered: null", spec.path, name)
            records = records.withColumn(name, F.lit(None).cast("string"))
    return records


ROWS_PER_FILE = 400_000


def write_lines(lines: DataFrame, uri: str, rows_hint: int) -> None:
    """Write a text-line frame as CSV part files with the header (its column name) on top.

    Lines are hashed into a fixed number of files and sorted within each, so the same
    delivery gives the same file contents whatever the cluster.
    """
    column = lines.columns[0]
    (
        lines.repartition(max(1, rows_hint // ROWS_PER_FILE), column)
        .sortWithinPartitions(column)
        .write.mode("overwrite")
        .option("header", True)
        .option("sep", "\u0001")  # never in a line: the line is written as is
        .option("quote", "")
        .option("escapeQuotes", False)
        .option("ignoreLeadingWhiteSpace", False)
        .option("ignoreTrailingWhiteSpace", False)
        .csv(uri)
    )


def write_parquet(frame: DataFrame, uri: str, rows_hint: int, sort_by: str | None = None) -> None:
    """Write a delivered Parquet table as part files (sorted by ``sort_by`` if given)."""
    files = max(1, rows_hint // ROWS_PER_FILE)
    if sort_by:
        frame = frame.repartition(files, sort_by).sortWithinPartitions(sort_by)
    else:
        frame = frame.repartition(files)
    frame.write.mode("overwrite").parquet(uri)


def read_truth(spark: SparkSession, input_dir: str, table: str) -> DataFrame:
    """``<input>/_truth/<table>`` (synthetic deliveries only; only evaluation reads it)."""
    files = Delivery(spark, input_dir).table_files(f"_truth/{table}", "parquet")
    if not files:
        raise BadDeliveryError(f"{input_dir}/_truth/{table}: no ground truth in this delivery")
    return spark.read.parquet(*[f.uri for f in files])


def update_period(spark: SparkSession, input_dir: str) -> str:
    """The period an update delivery produces: ``<input>/periode.txt``, e.g. ``2025Q3``.

    Raises:
        BadDeliveryError: the file is missing or does not hold one ``YYYYQn`` line.
    """
    uri = f"{input_dir.rstrip('/')}/periode.txt"
    if not exists(spark, uri):
        raise BadDeliveryError(f"{uri}: missing (an update delivery names its period there)")
    value = read_text(spark, uri).strip()
    if not re.fullmatch(r"20[0-9]{2}Q[1-4]", value):
        raise BadDeliveryError(f"{uri}: period {value!r} is not of the form YYYYQn (e.g. 2025Q3)")
    return value
