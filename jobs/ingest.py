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

from collections.abc import Sequence

from pyspark.sql import SparkSession

from delivery.ingestion.report import TableReport, format_reports
from dtsen import cli
from dtsen.config import Config
from dtsen.storage import Storage
from dtsen.storage.bronze import ingest_delivery


def run(spark: SparkSession, cfg: Config, storage: Storage) -> list[TableReport]:
    """Ingest every mapped table of ``cfg.delivery``; returns the per-table accounting."""
    return ingest_delivery(spark, storage, cfg, cfg.source_mapping())


def main(argv: Sequence[str] | None = None) -> list[TableReport]:
    return cli.run_stage(argv, __doc__, run, format_reports)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
