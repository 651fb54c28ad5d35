"""Small text files (model JSON, chart HTML) next to the warehouse, via Hadoop's FileSystem.

Through the JVM so the same call writes to a local folder, HDFS, S3 or ADLS, wherever
the warehouse is. Only for small artefacts: tables go through :mod:`dtsen.storage`.
"""

from __future__ import annotations

from pyspark.sql import SparkSession


def hadoop_path(spark: SparkSession, uri: str):
    """Hadoop ``Path`` of ``uri`` and the FileSystem that serves it."""
    jvm = spark._jvm  # the Hadoop FS API is only reachable via py4j
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return path, path.getFileSystem(spark._jsc.hadoopConfiguration())


def write_text(spark: SparkSession, uri: str, text: str) -> None:
    """Create or replace ``uri`` with ``text`` (UTF-8)."""
    path, fs = hadoop_path(spark, uri)
    stream = fs.create(path, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()


def read_text(spark: SparkSession, uri: str) -> str:
    """The whole of a small text file."""
    path, fs = hadoop_path(spark, uri)
    stream = fs.open(path)
    try:
        size = fs.getFileStatus(path).getLen()
        data = spark._jvm.java.io.ByteArrayOutputStream()
        spark._jvm.org.apache.hadoop.io.IOUtils.copyBytes(stream, data, 65536, False)
        raw = bytes(data.toByteArray())
        return raw[:size].decode("utf-8")
    finally:
        stream.close()


def exists(spark: SparkSession, uri: str) -> bool:
    path, fs = hadoop_path(spark, uri)
    return bool(fs.exists(path))


def remove(spark: SparkSession, uri: str) -> None:
    """Delete ``uri`` and everything below it (nothing happens if it does not exist)."""
    path, fs = hadoop_path(spark, uri)
    if fs.exists(path):
        fs.delete(path, True)
