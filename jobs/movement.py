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

from jobs import cli
from jobs.config import Config
from jobs.errors import BadDeliveryError
from jobs.session import build_session
from jobs.storage import Storage, open_storage
from ranking.movement import desil_transitions, program_movements


def _snapshot(storage: Storage, table: str, periode: str, version: int) -> DataFrame:
    frame = storage.read(table, version).where(F.col("periode") == periode)
    if frame.isEmpty():
        raise BadDeliveryError(f"{table} (version {version}): no rows for periode {periode}")
    return frame


def latest_periods(storage: Storage) -> tuple[str, str]:
    """The two latest ranked periods (a handful of distinct values: collected)."""
    periods = sorted(
        r[0] for r in storage.read("gold/peringkat").select("periode").distinct().collect()
    )
    if len(periods) < 2:
        raise BadDeliveryError(f"gold/peringkat holds {periods}: need two ranked periods")
    return periods[-2], periods[-1]


def movement(
    spark: SparkSession,
    cfg: Config,
    storage: Storage,
    dari: str,
    ke: str,
) -> dict[str, Any]:
    """Write and return the two reports for ``dari`` -> ``ke``."""
    # Pin each table's version once, so both periods come from the same snapshot.
    versions = {
        t: storage.version(t)
        for t in ("gold/peringkat", "gold/penerima_program", "gold/keputusan_program")
    }

    def snapshot(table: str, periode: str) -> DataFrame:
        return _snapshot(storage, table, periode, versions[table])

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


def format_report(report: dict[str, Any]) -> str:
    lines = [f"{report['dari']} -> {report['ke']} (table versions {report['versi']})"]
    lines.append("desil_nasional transitions (rows: before, columns: after; '-' = absent)")
    cells = {(r["desil_lama"], r["desil_baru"]): r["jumlah_keluarga"] for r in report["transisi"]}
    axis: list[int | None] = [*range(1, 11), None]
    name = {**{d: str(d) for d in range(1, 11)}, None: "-"}
    lines.append("      " + "".join(f"{name[d]:>7}" for d in axis))
    for before in axis:
        counts = "".join(f"{cells.get((before, after), 0):>7}" for after in axis)
        lines.append(f"{name[before]:>6}{counts}")
    lines.append(f"{'program':<8} {'arah':<7} {'alasan':<26} {'jumlah':>8}")
    lines += [
        f"{r['program']:<8} {r['arah']:<7} {r['alasan'] or '-':<26} {r['jumlah']:>8}"
        for r in report["program"]
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = cli.parser(__doc__.splitlines()[0])
    parser.add_argument("--dari", help="earlier period (default: second latest)")
    parser.add_argument("--ke", help="later period (default: latest)")
    args = parser.parse_args(argv)
    cfg = cli.config_from(args)
    spark = build_session(cfg)
    storage = open_storage(spark, cfg)
    dari, ke = (args.dari, args.ke) if args.dari and args.ke else latest_periods(storage)
    report = movement(spark, cfg, storage, dari, ke)
    print(format_report(report))  # the job's result, for the person who ran it
    return report


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
