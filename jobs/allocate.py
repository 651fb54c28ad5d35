"""Allocate program places: quotas per kab/kota, recipients, entries and exits.

    python -m jobs.allocate [--input DIR] [--warehouse DIR] [--conf FILE] [--set k=v]

For ``ranking.periode``, reads ``gold/peringkat``, ``gold/kelayakan``, ``gold/individu``
and the newest ingested ``program/penerima`` and ``referensi/kemiskinan``; and, where
they exist (an absent table reads as empty: the first period has none), the update
tables ``gold/groundcheck``, ``gold/usulan``, ``gold/sanggahan`` up to the period,
``gold/permintaan_reaktivasi`` of the period, and earlier periods'
``gold/keputusan_program`` and ``gold/reaktivasi``. For each program of
``allocation.programs`` (PKH, SEMBAKO, PBI by default): scales the national quota to the
delivery's population, splits it over kab/kota by their share of the poor, compares it
with current recipients (``KURANG`` / ``LEBIH`` / ``SESUAI``), selects recipients in
priority order (PBI reactivations, recipients, ground-checked families, the regent's
waiting list, rank), redistributes nationally the places a kab/kota could not fill, and
counts who enters and who leaves, and why. Writes ``gold/kuota``,
``gold/penerima_program``, ``gold/keputusan_program`` (every candidate's decision, exits
included), ``gold/mutasi_program`` (the counts), ``gold/reaktivasi`` (the period's
reactivation requests, granted or refused) and ``gold/antrian_groundcheck`` (the families
to visit next), replacing only this period's rows. Prints the totals per program, the
queue per reason and the reactivations per outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from dtsen import cli
from dtsen.config import Config
from dtsen.storage import Storage
from dtsen.storage.bronze import latest_batch, read_bronze
from dtsen.storage.periods import Span, read_period, read_periods
from ranking.antrian import SANGGAHAN_SCHEMA
from ranking.groundcheck import GROUNDCHECK_SCHEMA
from ranking.programs import (
    KEPUTUSAN_LALU_SCHEMA,
    UpdateInputs,
    allocate_programs,
    format_figures,
    recipients,
    summary,
    update_summary,
)
from ranking.reactivation import PERMINTAAN_SCHEMA, REAKTIVASI_SCHEMA
from ranking.usulan import USULAN_SCHEMA


def run(spark: SparkSession, cfg: Config, storage: Storage) -> dict[str, Any]:
    """Allocate ``ranking.periode``; returns the figures the job prints."""
    periode = cfg.ranking.periode
    batch = latest_batch(storage, cfg)

    def period(table: str, required: bool = True) -> DataFrame:
        return read_period(storage, table, periode, required=required)

    def periods(table: str, schema: str, span: Span = "upto") -> DataFrame:
        return read_periods(storage, table, periode, schema, span)

    persons = storage.read("gold/individu").select("dtsen_individu_id", "dtsen_keluarga_id", "nik")
    updates = UpdateInputs(
        groundcheck=periods("gold/groundcheck", GROUNDCHECK_SCHEMA),
        usulan=periods("gold/usulan", USULAN_SCHEMA),
        sanggahan=periods("gold/sanggahan", SANGGAHAN_SCHEMA),
        permintaan=periods("gold/permintaan_reaktivasi", PERMINTAAN_SCHEMA, "only"),
        keputusan_lalu=periods("gold/keputusan_program", KEPUTUSAN_LALU_SCHEMA, "before"),
        reaktivasi_lalu=periods("gold/reaktivasi", REAKTIVASI_SCHEMA, "before"),
    )
    result = allocate_programs(
        cfg.programs(),
        periode,
        cfg.allocation.national_population,
        period("gold/peringkat"),
        period("gold/kelayakan"),
        persons,
        read_bronze(storage, "program_penerima", batch),
        read_bronze(storage, "referensi_kemiskinan", batch),
        updates,
    )
    where = {"periode": periode}
    for frame, table in (
        (result.kuota, "gold/kuota"),
        (result.keputusan, "gold/keputusan_program"),
        (result.mutasi, "gold/mutasi_program"),
        (recipients(result.keputusan), "gold/penerima_program"),
        (result.reaktivasi, "gold/reaktivasi"),
        (result.antrian, "gold/antrian_groundcheck"),
    ):
        storage.write(frame, table, partition_by=["periode"], replace_where=where)
    result.release()
    tables = ("gold/kuota", "gold/penerima_program", "gold/mutasi_program")
    return {
        "periode": periode,
        "penduduk": result.population,
        "program": summary(*[period(t, required=False) for t in tables], result.totals),
        **update_summary(
            period("gold/antrian_groundcheck", required=False),
            period("gold/reaktivasi", required=False),
        ),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    return cli.run_stage(argv, __doc__, run, format_figures)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
