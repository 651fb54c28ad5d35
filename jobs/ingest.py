"""Ingest a delivery into ``bronze/`` and ``quarantine/`` Delta tables.

    python -m jobs.ingest [--input DIR] [--warehouse DIR] [--conf FILE] [--set k=v]

For every table in the source mapping (``ingest.sources``): read the delivered files,
validate each row, write accepted rows to ``bronze/<table>`` and rejected rows (with
the raw text and a reason code) to ``quarantine/<table>``. Both tables are partitioned
by ``_ingest_batch`` and each write replaces only this batch's partition in one
commit, so re-ingesting the same delivery does not duplicate rows. Prints, per table,
rows read = accepted + quarantined, and fails if any table does not balance.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date

from pyspark.sql import SparkSession

from delivery.ingestion.report import TableReport, format_reports
from dtsen import cli
from dtsen.config import Config
from dtsen.errors import BadDeliveryError
from dtsen.io.delivery import Delivery
from dtsen.storage import Storage
from dtsen.storage.bronze import ingest_table, missing_tables, stamp_batch

log = logging.getLogger("dtsen.ingest")


def run(spark: SparkSession, cfg: Config, storage: Storage) -> list[TableReport]:
    """Ingest every mapped table of ``cfg.delivery``; returns the per-table accounting."""
    mapping = cfg.source_mapping()
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
    reports = [
        ingest_table(spark, storage, delivery, name, spec, batch, today)
        for name, spec in tables.items()
    ]
    stamp_batch(storage, batch, cfg.delivery)
    unbalanced = [r.table for r in reports if not r.balanced]
    if unbalanced:
        raise BadDeliveryError(f"row accounting does not balance for {unbalanced}")
    return reports


def main(argv: Sequence[str] | None = None) -> list[TableReport]:
    return cli.run_stage(argv, __doc__, run, format_reports)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
