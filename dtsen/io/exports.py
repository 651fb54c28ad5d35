"""Writing one institution's extracts: Parquet and CSV part files, then ``manifest.json``.

Layout, under the warehouse::

    exports/<periode>/<institution>/manifest.json
    exports/<periode>/<institution>/<table>/parquet/part-*.parquet
    exports/<periode>/<institution>/<table>/csv/part-*.csv

Spark writes the part files from the executors; nothing passes through the driver but
file names, sizes and checksums (computed by Spark's ``binaryFile`` source on the
executors). A receiver trusts a folder only through its manifest, so the manifest is the
last thing written: the old one is deleted before anything else, the new one is written
beside its final name and renamed into place. An export that fails half-way therefore
leaves no manifest at all, never one naming missing or stale files.
"""

from __future__ import annotations

import json
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dtsen.errors import StorageError
from dtsen.io.files import hadoop_path, remove, write_text

MANIFEST = "manifest.json"
FORMATS = ("parquet", "csv")


def export_folder(root: str, periode: str, institution: str) -> str:
    """Where one institution's extracts of ``periode`` go."""
    return f"{root.rstrip('/')}/exports/{periode}/{institution}"


def write_extracts(
    spark: SparkSession,
    folder: str,
    frames: dict[str, DataFrame],
    about: dict[str, Any],
) -> dict[str, Any]:
    """Write every table in both formats below ``folder``, then its manifest.

    Args:
        folder: the institution's folder (:func:`export_folder`); replaced whole.
        frames: table name -> rows, in the order they should appear.
        about: what the manifest says first (``periode``, ``institution``, the source
            table versions, ...).

    Returns:
        The manifest as written: ``about`` plus ``tables``: per table its ``columns``
        (name and Spark SQL type), ``rows`` and ``files`` (``path`` relative to
        ``folder``, ``format``, ``bytes``, ``sha256``).
    """
    remove(spark, f"{folder}/{MANIFEST}")
    remove(spark, folder)
    tables = {}
    for table, frame in frames.items():
        # Both formats come from one computation: persisted, counted, written twice.
        held = frame.persist(StorageLevel.MEMORY_AND_DISK)
        try:
            rows = held.count()
            held.write.mode("errorifexists").parquet(f"{folder}/{table}/parquet")
            held.write.mode("errorifexists").option("header", True).csv(f"{folder}/{table}/csv")
        finally:
            held.unpersist()
        tables[table] = {
            "columns": [{"name": f.name, "type": f.dataType.simpleString()} for f in frame.schema],
            "rows": rows,
            "files": [],
        }
    for entry in _files(spark, folder):
        table = entry["path"].split("/", 1)[0]
        tables[table]["files"].append(entry)
    manifest = {**about, "tables": tables}
    _publish(spark, folder, json.dumps(manifest, indent=2, sort_keys=False) + "\n")
    return manifest


def _files(spark: SparkSession, folder: str) -> list[dict[str, Any]]:
    """Every data file below ``folder``, sorted by path, with its size and SHA-256.

    Spark's file listing skips names starting with ``_`` or ``.`` (``_SUCCESS``, the
    local file system's ``.crc`` files): they are not part of the extract.
    """
    base, fs = hadoop_path(spark, folder)
    prefix = fs.makeQualified(base).toString().rstrip("/") + "/"
    listed = (
        spark.read.format("binaryFile")
        .option("recursiveFileLookup", "true")
        .load(folder)
        .select("path", "length", F.sha2("content", 256).alias("sha256"))
        .orderBy("path")
        .collect()
    )
    entries = []
    for row in listed:
        if not row["path"].startswith(prefix):
            raise StorageError(f"{row['path']}: listed outside the export folder {prefix}")
        path = row["path"][len(prefix) :]
        entries.append(
            {
                "path": path,
                "format": path.split("/")[1],
                "bytes": row["length"],
                "sha256": row["sha256"],
            }
        )
    return entries


def _publish(spark: SparkSession, folder: str, text: str) -> None:
    """Write the manifest beside its name, then rename it into place (one step on HDFS
    and local disks; object stores copy, still after every data file is complete)."""
    staged = f"{folder}/_{MANIFEST}.tmp"
    write_text(spark, staged, text)
    source, fs = hadoop_path(spark, staged)
    target, _ = hadoop_path(spark, f"{folder}/{MANIFEST}")
    if not fs.rename(source, target):
        raise StorageError(f"{folder}: could not rename {staged} to {MANIFEST}")
