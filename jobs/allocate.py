"""Allocate program places: quotas per kab/kota, recipients, entries and exits.

    python -m jobs.allocate [--input DIR] [--warehouse DIR] [--conf FILE] [--set k=v]

For ``ranking.periode``, reads ``gold/peringkat``, ``gold/kelayakan``, ``gold/individu``
and the newest ingested ``program/penerima`` and ``referensi/kemiskinan``. For each
program of ``allocation.programs`` (PKH, SEMBAKO, PBI by default): scales the national
quota to the delivery's population, splits it over kab/kota by their share of the
poor, compares it with current recipients (``KURANG`` / ``LEBIH`` / ``SESUAI``),
selects recipients in priority order, and counts who enters and who leaves, and why.
Writes ``gold/kuota``, ``gold/penerima_program``, ``gold/keputusan_program`` (every
candidate's decision, exits included) and ``gold/mutasi_program`` (the counts),
replacing only this period's rows. Prints the totals per program.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from dtsen import cli
from dtsen.config import Config
from dtsen.storage import Storage
from dtsen.storage.bronze import latest_batch, read_bronze
from dtsen.storage.periods import read_period
from ranking.programs import allocate_programs, format_figures, recipients, summary


def run(spark: SparkSession, cfg: Config, storage: Storage) -> dict[str, Any]:
    """Allocate ``ranking.periode``; returns the figures the job prints."""
    periode = cfg.ranking.periode
    batch = latest_batch(storage, cfg)

    def period(table: str, required: bool = True) -> DataFrame:
        return read_period(storage, table, periode, required=required)

    persons = storage.read("gold/individu").select("dtsen_individu_id", "dtsen_keluarga_id", "nik")
    result = allocate_programs(
        cfg.programs(),
        periode,
        cfg.allocation.national_population,
        period("gold/peringkat"),
        period("gold/kelayakan"),
        persons,
        read_bronze(storage, "program_penerima", batch),
        read_bronze(storage, "referensi_kemiskinan", batch),
    )
    where = {"periode": periode}
    for frame, table in (
        (result.kuota, "gold/kuota"),
        (result.keputusan, "gold/keputusan_program"),
        (result.mutasi, "gold/mutasi_program"),
        (recipients(result.keputusan), "gold/penerima_program"),
    ):
        storage.write(frame, table, partition_by=["periode"], replace_where=where)
    result.release()
    tables = ("gold/kuota", "gold/penerima_program", "gold/mutasi_program")
    return {
        "periode": periode,
        "penduduk": result.population,
        "program": summary(*[period(t, required=False) for t in tables], result.totals),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    return cli.run_stage(argv, __doc__, run, format_figures)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
