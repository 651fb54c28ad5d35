"""Locating delivered files through Hadoop's FileSystem API.

Going through the JVM's Hadoop FileSystem (not Python's ``os``) means the same code
lists and reads a delivery on a local disk, HDFS, S3 or ADLS: whatever Spark itself
can read. Only metadata and single header lines pass through the driver.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pyspark.sql import SparkSession

from jobs.files import hadoop_path

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
        self._jvm = spark._jvm  # noqa: SLF001 - the Hadoop FS API is only reachable via py4j
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
        """The first line of a text file (its CSV header), without a UTF-8 BOM."""
        path, fs = hadoop_path(self._spark, file.uri)
        stream = fs.open(path)
        try:
            reader = self._jvm.java.io.BufferedReader(
                self._jvm.java.io.InputStreamReader(stream, "UTF-8")
            )
            line = reader.readLine()
        finally:
            stream.close()
        return None if line is None else line.lstrip("\ufeff")

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
