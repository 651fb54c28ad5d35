"""Movement between two ranked periods: desil transitions, program entries and exits.

    python -m jobs.movement [--dari PERIODE] [--ke PERIODE] [--conf FILE] [--warehouse DIR]

Compares ``gold/peringkat`` and ``gold/penerima_program`` of two periods (default: the
two latest). Exits carry the later period's reason (``gold/keputusan_program``).
Writes ``gold/laporan_transisi_desil`` and ``gold/laporan_mutasi_program`` (keyed by
``dari``, ``ke``; a rerun replaces that pair) and prints both, with the Delta version
of every table read, so a report can be reproduced by time travel
(``Storage.read(table, version)``) after a period is re-run. Only counts: no person
or family identifiers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dtsen import cli
from dtsen.config import Config
from dtsen.storage import Storage
from dtsen.storage.periods import latest_periods, read_period
from ranking.movement import desil_transitions, format_report, program_movements


def run(
    spark: SparkSession,
    cfg: Config,
    storage: Storage,
    dari: str | None = None,
    ke: str | None = None,
) -> dict[str, Any]:
    """Write and return the two reports for ``dari`` -> ``ke`` (default: the two latest)."""
    if not (dari and ke):
        dari, ke = latest_periods(storage, "gold/peringkat", 2)
    # Pin each table's published version once: both periods come from one snapshot.
    versions = {
        t: storage.published_version(t)
        for t in ("gold/peringkat", "gold/penerima_program", "gold/keputusan_program")
    }

    def snapshot(table: str, periode: str) -> DataFrame:
        return read_period(storage, table, periode, versions[table])

    label = [F.lit(dari).alias("dari"), F.lit(ke).alias("ke")]
    transitions = desil_transitions(
        snapshot("gold/peringkat", dari), snapshot("gold/peringkat", ke)
    ).select(*label, "*")
    programs = program_movements(
        snapshot("gold/penerima_program", dari),
        snapshot("gold/penerima_program", ke),
        snapshot("gold/keputusan_program", ke),
    ).select(*label, "*")
    where = {"dari": dari, "ke": ke}
    storage.write(
        transitions, "gold/laporan_transisi_desil", partition_by=["dari", "ke"], replace_where=where
    )
    storage.write(
        programs, "gold/laporan_mutasi_program", partition_by=["dari", "ke"], replace_where=where
    )

    def rows(table: str, order: list[str]) -> list[dict[str, Any]]:
        frame = storage.read(table).where((F.col("dari") == dari) & (F.col("ke") == ke))
        return [r.asDict() for r in frame.drop("dari", "ke").orderBy(*order).collect()]

    return {
        "dari": dari,
        "ke": ke,
        "versi": versions,
        "transisi": rows("gold/laporan_transisi_desil", ["desil_lama", "desil_baru"]),
        "program": rows("gold/laporan_mutasi_program", ["program", "arah", "alasan"]),
    }


FLAGS = [
    (("--dari",), {"help": "earlier period (default: second latest)"}),
    (("--ke",), {"help": "later period (default: latest)"}),
]


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    return cli.run_stage(argv, __doc__, run, format_report, FLAGS)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
