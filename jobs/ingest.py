"""Ingest a delivery into ``bronze/`` and ``quarantine/`` Delta tables.

    python -m jobs.ingest [--input DIR] [--warehouse DIR] [--conf FILE] [--set k=v]

For every table in the source mapping (``ingest.sources``): read the delivered files,
validate each row, write accepted rows to ``bronze/<table>`` and rejected rows (with
the raw text and a reason code) to ``quarantine/<table>``. Both tables are partitioned
by ``_ingest_batch`` and each write replaces only this batch's partition in one
commit, so re-ingesting the same delivery does not duplicate rows. Prints, per table,
rows read = accepted + quarantined.
"""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import cli
from jobs.config import Config
from jobs.delivery import DeliveredFile, Delivery
from jobs.errors import BadDeliveryError
from jobs.ingestion.mapping import SourceMapping, TableSpec, load_mapping
from jobs.ingestion.report import reason_counts
from jobs.ingestion.validate import (
    QUARANTINE_SCHEMA,
    accepted,
    csv_records,
    parquet_records,
    quarantined,
    validate,
)
from jobs.session import build_session
from jobs.storage import Storage, open_storage

log = logging.getLogger("dtsen.ingest")
BATCH_COLUMN = "_ingest_batch"
BATCHES_TABLE = "meta/ingest_batch"


@dataclass(frozen=True)
class TableReport:
    table: str
    read: int
    accepted: int
    quarantined: int
    reasons: dict[str, int]

    @property
    def balanced(self) -> bool:
        return self.read == self.accepted + self.quarantined


def _header(delivery: Delivery, files: list[DeliveredFile], spec: TableSpec) -> list[str]:
    """The header shared by all part files; required columns must be in it."""
    headers = {}
    for f in files:
        line = delivery.first_line(f)
        if line is not None:
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
    return header


def _source_file(spec: TableSpec, files: list[DeliveredFile]) -> F.Column:
    """The file a row came from, relative to the delivery root (no local paths)."""
    name = F.element_at(F.split(F.col("_metadata.file_path"), "/"), -1)
    single = len(files) == 1 and files[0].name.startswith(spec.path.rsplit("/", 1)[-1] + ".")
    folder = spec.path.rsplit("/", 1)[0] if single else spec.path
    return F.concat(F.lit(folder + "/"), name)


def read_records(spark: SparkSession, delivery: Delivery, spec: TableSpec) -> DataFrame | None:
    """The table's records in the validation shape, or None when it was not delivered."""
    files = delivery.table_files(spec.path, spec.format)
    uris = [f.uri for f in files if f.size > 0]
    if not uris:
        return None
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
        header = _header(delivery, [f for f in files if f.size > 0], spec)
        header_line = spec.delimiter.join(header)
        lines = spark.read.text(uris).withColumn("_source_file", _source_file(spec, files))
        # Every part file starts with the header; any line equal to it is a header.
        lines = lines.where(F.col("value") != header_line)
        records = csv_records(lines, header, spec.delimiter)
        unknown = [h for h in header if h not in spec.columns]
        if unknown:
            log.warning("%s: columns not in the mapping are ignored: %s", spec.path, unknown)
    for name in spec.columns:
        if name not in records.columns:
            log.warning("%s: optional column %s not delivered: null", spec.path, name)
            records = records.withColumn(name, F.lit(None).cast("string"))
    return records


def ingest_table(
    spark: SparkSession,
    storage: Storage,
    delivery: Delivery,
    name: str,
    spec: TableSpec,
    batch: str,
    today: date,
) -> TableReport:
    """Validate one table and write its bronze and quarantine partitions for ``batch``."""
    records = read_records(spark, delivery, spec)
    if records is None:
        why = "source absent" if not delivery.exists(spec.source) else "table not delivered"
        log.warning("%s: %s (%s): written as empty", name, why, spec.path)
        good = spark.createDataFrame([], spec.bronze_schema())
        good = good.withColumn(BATCH_COLUMN, F.lit(batch)).withColumn(
            "_source_file", F.lit(None).cast("string")
        )
        bad = spark.createDataFrame([], QUARANTINE_SCHEMA)
        validated = None
    else:
        validated = validate(records, spec, today).persist(StorageLevel.MEMORY_AND_DISK)
        good, bad = accepted(validated, spec, batch), quarantined(validated, batch)
    where = {BATCH_COLUMN: batch}
    storage.write(good, f"bronze/{name}", partition_by=[BATCH_COLUMN], replace_where=where)
    storage.write(bad, f"quarantine/{name}", partition_by=[BATCH_COLUMN], replace_where=where)
    reasons: dict[str, int] = {}
    if validated is not None:
        for row in reason_counts(validated).collect():
            key = row["reason"] or "OK"
            reasons[key] = reasons.get(key, 0) + row["rows"]
        validated.unpersist()
    # Accepted and quarantined are counted in the written tables, not in memory, so
    # the accounting checks what really landed.
    written = [
        storage.read(f"{layer}/{name}").where(F.col(BATCH_COLUMN) == batch).count()
        for layer in ("bronze", "quarantine")
    ]
    read = sum(reasons.values())
    reasons.pop("OK", None)
    return TableReport(name, read, written[0], written[1], reasons)


def resolve_batch(cfg: Config, delivery: Delivery, mapping: SourceMapping) -> str:
    if cfg.ingest.batch:
        return cfg.ingest.batch
    return delivery.fingerprint([(t.path, t.format) for t in mapping.tables.values()])


def ingest(spark: SparkSession, cfg: Config, storage: Storage) -> list[TableReport]:
    """Ingest every mapped table of ``cfg.input``; returns the per-table accounting."""
    mapping = load_mapping(cfg.resolve_conf_file(cfg.ingest.sources))
    delivery = Delivery(spark, cfg.input)
    if not delivery.exists(""):
        raise BadDeliveryError(f"{cfg.input}: delivery folder does not exist")
    batch = resolve_batch(cfg, delivery, mapping)
    log.info("ingesting %s as batch %s", cfg.input, batch)
    today = date.today()
    reports = []
    for name, spec in mapping.tables.items():
        started = time.monotonic()
        report = ingest_table(spark, storage, delivery, name, spec, batch, today)
        log.info(
            "%s: read %d = accepted %d + quarantined %d %s (%.1f s)",
            name,
            report.read,
            report.accepted,
            report.quarantined,
            report.reasons or "",
            time.monotonic() - started,
        )
        reports.append(report)
    # Later stages read the newest batch recorded here (unless ingest.batch names one).
    stamp = spark.createDataFrame(
        [(batch, cfg.input, datetime.now(UTC))],
        "batch string, input string, ingested_at timestamp",
    )
    storage.write(
        stamp, BATCHES_TABLE, mode="append" if storage.exists(BATCHES_TABLE) else "overwrite"
    )
    return reports


def latest_batch(storage: Storage, cfg: Config) -> str:
    """The batch later stages read: ``ingest.batch`` if set, else the newest ingested."""
    if cfg.ingest.batch:
        return cfg.ingest.batch
    if not storage.exists(BATCHES_TABLE):
        raise BadDeliveryError(f"no ingested batch in {storage.root}: run the ingest job first")
    newest = storage.read(BATCHES_TABLE).orderBy(F.desc("ingested_at"), F.desc("batch")).first()
    return newest["batch"]


def read_bronze(storage: Storage, table: str, batch: str) -> DataFrame:
    """One ingested batch of ``bronze/<table>``, without the batch column."""
    return storage.read(f"bronze/{table}").where(F.col(BATCH_COLUMN) == batch).drop(BATCH_COLUMN)


def format_reports(reports: list[TableReport]) -> str:
    lines = [f"{'table':<28} {'read':>10} {'accepted':>10} {'quarantined':>11}"]
    for r in reports:
        lines.append(f"{r.table:<28} {r.read:>10} {r.accepted:>10} {r.quarantined:>11}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> list[TableReport]:
    args = cli.parser(__doc__.splitlines()[0]).parse_args(argv)
    cfg = cli.config_from(args)
    spark = build_session(cfg)
    reports = ingest(spark, cfg, open_storage(spark, cfg))
    print(format_reports(reports))  # the job's result table, for the person who ran it
    unbalanced = [r.table for r in reports if not r.balanced]
    if unbalanced:
        raise BadDeliveryError(f"row accounting does not balance for {unbalanced}")
    return reports


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
