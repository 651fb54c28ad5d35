"""The one SparkSession builder used by every job, notebook and test.

Master, deploy mode and packages belong to ``spark-submit.sh`` and the config profile;
this module adds what every session of this project needs on top of a builder:
the app name, Splink's similarity JAR, a checkpoint directory, shuffle partitions
sized for the machine, Delta's extension when its classes are supplied, UTC and
microsecond Parquet timestamps (readable by delta-rs).
"""

from __future__ import annotations

import logging
import os
import sys
import uuid
from pathlib import Path

from pyspark.sql import SparkSession

from dtsen.config import Config

log = logging.getLogger(__name__)

DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"
DELTA_JARS_ENV = "DTSEN_DELTA_JARS"
SCRATCH_CONF = "dtsen.scratch"
"""Session conf key holding this run's scratch folder."""


def splink_jar() -> str:
    """Path of the Scala similarity UDF JAR shipped inside the installed splink package.

    Splink's own helper picks the JAR matching the running pyspark major version.
    """
    from splink.backends.spark import similarity_jar_location

    return similarity_jar_location()


def delta_jars() -> list[str]:
    """JARs named by ``DTSEN_DELTA_JARS`` (comma-separated files or folders of JARs)."""
    listed = [p for p in os.environ.get(DELTA_JARS_ENV, "").split(",") if p.strip()]
    jars: list[str] = []
    for entry in listed:
        path = Path(entry.strip())
        jars.extend(sorted(str(p) for p in path.glob("*.jar")) if path.is_dir() else [str(path)])
    return jars


def _submitted_conf() -> dict[str, str]:
    """Settings spark-submit passed to this driver, or {} when Python starts the JVM.

    Reading SparkConf would start a JVM before the builder's settings (driver memory)
    apply, so it is only read when spark-submit already started one: then PySpark
    connects to it through PYSPARK_GATEWAY_PORT.
    """
    if "PYSPARK_GATEWAY_PORT" not in os.environ:
        return {}
    from pyspark import SparkConf

    return dict(SparkConf().getAll())


def configure_builder(builder: SparkSession.Builder, cfg: Config) -> SparkSession.Builder:
    """Add the project's settings to a builder and return it (like Delta's pip helper)."""
    local = bool(cfg.spark.master and cfg.spark.master.startswith("local"))
    submitted = _submitted_conf()
    # Under spark-submit, keep its --jars/--packages and --name: add to them, never replace.
    jars = [j for j in submitted.get("spark.jars", "").split(",") if j]
    jars += [j for j in (splink_jar(), *delta_jars()) if j not in jars]
    if "spark.app.name" not in submitted:
        builder = builder.appName(cfg.spark.app_name)
    builder = (
        builder.config("spark.jars", ",".join(jars))
        .config("spark.sql.session.timeZone", "UTC")
        # delta-rs and other Delta readers expect INT64 microsecond timestamps, not INT96.
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.sql.legacy.timeParserPolicy", "CORRECTED")
    )
    if cfg.spark.master:
        builder = builder.master(cfg.spark.master)
    partitions = cfg.spark.shuffle_partitions
    if partitions == "auto":
        partitions = 4 * (os.cpu_count() or 2) if local else None
    if partitions is not None:
        builder = builder.config("spark.sql.shuffle.partitions", str(partitions))
    if local:
        # The driver talks only to itself: keep it on loopback, not the host's address.
        builder = (
            builder.config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
        )
        if cfg.spark.driver_memory:
            builder = builder.config("spark.driver.memory", cfg.spark.driver_memory)
    if delta_jars():
        builder = builder.config("spark.sql.extensions", DELTA_EXTENSION).config(
            "spark.sql.catalog.spark_catalog", DELTA_CATALOG
        )
        if local:
            # Delta replays its log in 50 tasks by default: on a few local cores that
            # costs more than the replay itself (measured: half of a small test's time).
            builder = builder.config(
                "spark.databricks.delta.snapshotPartitions", str(2 * (os.cpu_count() or 2))
            )
    for key, value in cfg.spark.extra.items():
        builder = builder.config(key, value)
    return builder


def build_session(cfg: Config) -> SparkSession:
    """Create (or return the running) SparkSession for ``cfg`` and set its checkpoint dir."""
    if cfg.spark.master and cfg.spark.master.startswith("local"):
        # Local workers must run the driver's interpreter, whatever is first on PATH.
        os.environ["PYSPARK_PYTHON"] = sys.executable
        os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    spark = configure_builder(SparkSession.builder, cfg).getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    # One scratch folder per session and scratch root (a test session builds it once
    # for many stages).
    scratch = spark.conf.get(SCRATCH_CONF, None)
    if not (scratch and scratch.startswith(cfg.scratch_root + "/")):
        scratch = f"{cfg.scratch_root}/{cfg.spark.app_name}-{uuid.uuid4().hex[:12]}"
    spark.conf.set(SCRATCH_CONF, scratch)
    # Spark's and Splink's checkpoints (Splink writes its tables below this folder).
    spark.sparkContext.setCheckpointDir(f"{scratch}/checkpoints")
    register_similarity_functions(spark)
    log.info("spark %s master=%s", spark.version, spark.sparkContext.master)
    return spark


def scratch_dir(spark: SparkSession) -> str:
    """This session's scratch folder (checkpoints, Splink's tables)."""
    return spark.conf.get(SCRATCH_CONF)


def remove_scratch(spark: SparkSession) -> None:
    """Delete this session's scratch folder: it holds copies of personal data."""
    from dtsen.io.files import remove

    folder = scratch_dir(spark)
    remove(spark, folder)
    log.info("scratch %s removed", folder)


def register_similarity_functions(spark: SparkSession) -> None:
    """Register the JAR's string similarity functions (jaro_winkler, ...) for SQL use.

    The same names Splink registers, so linkage code can use them in plain Spark
    expressions (e.g. the deterministic NIK pass) before any Splink linker exists.
    """
    from splink.internals.spark.jar_location import get_scala_udfs

    for name, java_class, return_type in get_scala_udfs():
        spark.udf.registerJavaFunction(name, java_class, return_type)


def has_delta_classes(spark: SparkSession) -> bool:
    """Whether delta-spark's JVM classes are loadable in this session."""
    try:
        spark._jvm.java.lang.Class.forName(  # the py4j gateway is the only way
            "io.delta.tables.DeltaTable",
            True,
            spark._jvm.Thread.currentThread().getContextClassLoader(),
        )
    except Exception as exc:  # py4j raises Py4JJavaError wrapping ClassNotFoundException
        if "ClassNotFoundException" in str(exc):
            return False
        raise
    return True
