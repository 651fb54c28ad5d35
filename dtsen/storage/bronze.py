"""Ingested batches: which batch the later stages read, and one batch of a bronze table.

Ingest writes every delivery as one ``_ingest_batch`` partition of each ``bronze/`` and
``quarantine/`` table and stamps it in ``meta/ingest_batch``; every later stage reads
one batch, the newest unless ``ingest.batch`` names one, so a stage never mixes two
deliveries.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from delivery.ingestion.mapping import SourceMapping, TableSpec
from delivery.ingestion.report import TableReport, reason_counts
from delivery.ingestion.validate import (
    QUARANTINE_SCHEMA,
    accepted,
    invalid_counts,
    quarantined,
    validate,
)
from dtsen.config import Config
from dtsen.errors import BadDeliveryError
from dtsen.io.delivery import Delivery, read_records
from dtsen.progress import Progress
from dtsen.storage import Storage

log = logging.getLogger("dtsen.ingest")

BATCH_COLUMN = "_ingest_batch"
BATCHES_TABLE = "meta/ingest_batch"


def latest_batch(storage: Storage, cfg: Config) -> str:
    """The batch later stages read: ``ingest.batch`` if set, else the newest ingested
    (as published: an ingest that did not complete is not seen). Noted in the manifest."""
    if cfg.ingest.batch:
        batch = cfg.ingest.batch
    elif not storage.exists(BATCHES_TABLE):
        raise BadDeliveryError(f"no ingested batch in {storage.root}: run the ingest job first")
    else:
        newest = storage.read(BATCHES_TABLE).orderBy(F.desc("ingested_at"), F.desc("batch"))
        batch = newest.first()["batch"]
    storage.note("input_batch", batch)
    return batch


def newest_batch_of(storage: Storage, table: str) -> str:
    """The newest ingested batch that delivered ``table``.

    An update delivery does not re-deliver the registries (``regsosek/``, ``p3ke/``,
    ``dtks/``): their rows stay in the first period's batch, which this finds.

    Raises:
        BadDeliveryError: no ingested batch holds the table.
    """
    held = storage.read(f"bronze/{table}").select(BATCH_COLUMN).distinct()
    stamps = storage.read(BATCHES_TABLE).select(F.col("batch").alias(BATCH_COLUMN), "ingested_at")
    newest = stamps.join(held, BATCH_COLUMN).orderBy(F.desc("ingested_at"), F.desc(BATCH_COLUMN))
    row = newest.first()
    if row is None:
        raise BadDeliveryError(f"bronze/{table}: no ingested batch holds it")
    return row[BATCH_COLUMN]


def read_bronze(storage: Storage, table: str, batch: str) -> DataFrame:
    """One ingested batch of ``bronze/<table>``, without the batch column."""
    return storage.read(f"bronze/{table}").where(F.col(BATCH_COLUMN) == batch).drop(BATCH_COLUMN)


def write_batch(storage: Storage, table: str, frame: DataFrame, batch: str) -> None:
    """Replace ``batch``'s partition of ``table`` (``bronze/...`` or ``quarantine/...``)."""
    storage.write(frame, table, partition_by=[BATCH_COLUMN], replace_where={BATCH_COLUMN: batch})


def stamp_batch(storage: Storage, batch: str, source: str) -> None:
    """Record ``batch`` as the newest ingested one (appended to ``meta/ingest_batch``)."""
    spark = storage.spark
    storage.note("input_batch", batch)
    stamp = spark.createDataFrame(
        [(batch, source, datetime.now(UTC))], "batch string, input string, ingested_at timestamp"
    )
    storage.write(
        stamp, BATCHES_TABLE, mode="append" if storage.exists(BATCHES_TABLE) else "overwrite"
    )


def ingest_table(
    spark: SparkSession,
    storage: Storage,
    delivery: Delivery,
    name: str,
    spec: TableSpec,
    batch: str,
    today: date,
) -> TableReport:
    """Validate one table and write its bronze and quarantine partitions for ``batch``.

    A table that is not delivered is written empty (the caller has checked that its
    source is declared absent, see :func:`missing_tables`).
    """
    records = read_records(spark, delivery, spec)
    reasons: dict[str, int] = {}
    nulled: dict[str, int] = {}
    if records is None:
        log.warning("%s: source declared absent (%s): written as empty", name, spec.path)
        good = spark.createDataFrame([], spec.bronze_schema()).select(
            "*",
            F.array().cast("array<string>").alias("_invalid"),
            F.lit(batch).alias(BATCH_COLUMN),
            F.lit(None).cast("string").alias("_source_file"),
        )
        bad = spark.createDataFrame([], QUARANTINE_SCHEMA)
    else:
        validated = validate(records, spec, today).persist(StorageLevel.MEMORY_AND_DISK)
        good, bad = accepted(validated, spec, batch), quarantined(validated, batch)
        for row in reason_counts(validated).collect():
            key = row["reason"] or "OK"
            reasons[key] = reasons.get(key, 0) + row["rows"]
        nulled = {
            f"{r['reason']}:{r['column']}": r["fields"] for r in invalid_counts(validated).collect()
        }
    write_batch(storage, f"bronze/{name}", good, batch)
    write_batch(storage, f"quarantine/{name}", bad, batch)
    if records is not None:
        validated.unpersist()
    # Counted in the written tables, not in memory: the accounting checks what landed.
    landed = [
        storage.read(f"{layer}/{name}").where(F.col(BATCH_COLUMN) == batch).count()
        for layer in ("bronze", "quarantine")
    ]
    read = sum(reasons.values())
    reasons.pop("OK", None)
    log.info(
        "%s: read %d = accepted %d + quarantined %d %s; fields nulled %s",
        name,
        read,
        *landed,
        reasons,
        nulled,
    )
    return TableReport(name, read, landed[0], landed[1], reasons, nulled)


def missing_tables(delivery: Delivery, mapping: SourceMapping, absent: Sequence[str]) -> list[str]:
    """What the mapping expects and the delivery lacks, unless its source is ``absent``.

    Only metadata is read (file listings). Each entry names the table's path and whether
    the whole source folder is missing.
    """
    missing = []
    for spec in mapping.tables.values():
        if spec.source in absent:
            continue
        files = delivery.table_files(spec.path, spec.format)
        if not files:
            whole = "" if delivery.exists(spec.source) else f" (no {spec.source}/ at all)"
            missing.append(f"{spec.path}{whole}")
        elif not any(f.size > 0 for f in files):
            missing.append(f"{spec.path} (only empty files: no header)")
    return missing


def ingest_delivery(
    spark: SparkSession, storage: Storage, cfg: Config, mapping: SourceMapping
) -> list[TableReport]:
    """Ingest every table of ``mapping`` from ``cfg.delivery`` as one batch.

    Returns the per-table accounting (rows read = accepted + quarantined).

    Raises:
        BadDeliveryError: the folder or a table is missing (and not declared absent),
            or a table's accounting does not balance.
    """
    delivery = Delivery(spark, cfg.delivery)
    if not delivery.exists(""):
        raise BadDeliveryError(f"{cfg.delivery}: delivery folder does not exist")
    missing = missing_tables(delivery, mapping, cfg.ingest.absent)
    if missing:
        raise BadDeliveryError(
            f"{cfg.delivery}: not delivered: {'; '.join(missing)} (a source knowingly absent "
            "this period is declared with --set ingest.absent=[source,...])"
        )
    tables = mapping.tables
    batch = cfg.ingest.batch or delivery.fingerprint([(t.path, t.format) for t in tables.values()])
    log.info("ingesting %s as batch %s", cfg.delivery, batch)
    today = date.today()
    progress = Progress(spark, "ingest")
    reports = []
    for name, spec in tables.items():
        with progress.step(name) as rows:
            reports.append(ingest_table(spark, storage, delivery, name, spec, batch, today))
            rows.n = reports[-1].read
    stamp_batch(storage, batch, cfg.delivery)
    unbalanced = [r.table for r in reports if not r.balanced]
    if unbalanced:
        raise BadDeliveryError(f"row accounting does not balance for {unbalanced}")
    return reports
