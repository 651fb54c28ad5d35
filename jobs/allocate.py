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

import logging
import time
from collections.abc import Sequence
from functools import reduce
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import cli
from jobs.config import Config
from jobs.errors import BadDeliveryError
from jobs.ingest import latest_batch, read_bronze
from jobs.storage import Storage
from ranking.allocation import allocate, changes, kab_quotas, quota_status, scale_quota
from ranking.candidates import candidates, unknown_recipients

log = logging.getLogger("dtsen.allocate")


def _period(storage: Storage, table: str, periode: str) -> DataFrame:
    frame = storage.read(table).where(F.col("periode") == periode)
    if frame.isEmpty():
        raise BadDeliveryError(
            f"{table}: no rows for periode {periode}; run the rank job for it first"
        )
    return frame


def allocation(spark: SparkSession, cfg: Config, storage: Storage) -> dict[str, Any]:
    """Run the stage; returns the figures the job prints (for tests and notebooks)."""
    started = time.monotonic()
    periode = cfg.ranking.periode
    batch = latest_batch(storage, cfg)
    peringkat = _period(storage, "gold/peringkat", periode)
    kelayakan = _period(storage, "gold/kelayakan", periode)
    persons = storage.read("gold/individu").select("dtsen_individu_id", "dtsen_keluarga_id", "nik")
    penerima = read_bronze(storage, "program_penerima", batch)
    poor = read_bronze(storage, "referensi_kemiskinan", batch)
    population = persons.count()

    quotas, decisions, movements, totals = [], [], [], []
    cached: list[DataFrame] = []  # each program's candidates, read by three of the writes
    for program, rules in cfg.programs().items():
        national = scale_quota(rules.national_quota, population, cfg.allocation.national_population)
        units = candidates(
            rules.unit,
            program,
            rules.max_desil,
            rules.desil,
            peringkat,
            kelayakan,
            persons,
            penerima,
        ).persist(StorageLevel.MEMORY_AND_DISK)
        kuota = kab_quotas(poor, national)
        current = (
            units.where("penerima")
            .groupBy("kode_kab")
            .agg(F.count(F.lit(1)).alias("penerima_saat_ini"))
        )
        decided = allocate(units, kuota)
        label = [F.lit(periode).alias("periode"), F.lit(program).alias("program")]
        quotas.append(quota_status(kuota, current).select(*label, "*"))
        decisions.append(
            decided.select(
                *label,
                "dtsen_keluarga_id",
                "dtsen_individu_id",
                "kode_kab",
                "persentil",
                "dalam_desil",
                "layak",
                "penerima",
                "sudah_groundcheck",
                "terpilih",
                "prioritas",
                "alasan",
            )
        )
        movements.append(
            changes(decided, unknown_recipients(persons, penerima, program)).select(*label, "*")
        )
        totals.append((program, rules.unit, national))
        cached.append(units)

    def union(frames: list[DataFrame]) -> DataFrame:
        return reduce(DataFrame.unionByName, frames)

    where = {"periode": periode}
    for frame, table in (
        (union(quotas), "gold/kuota"),
        (union(decisions), "gold/keputusan_program"),
        (union(movements), "gold/mutasi_program"),
    ):
        storage.write(frame, table, partition_by=["periode"], replace_where=where)
    for units in cached:
        units.unpersist()
    chosen = storage.read("gold/keputusan_program").where(
        (F.col("periode") == periode) & F.col("terpilih")
    )
    storage.write(
        chosen.select(
            "periode", "program", "dtsen_keluarga_id", "dtsen_individu_id", "prioritas", "alasan"
        ),
        "gold/penerima_program",
        partition_by=["periode"],
        replace_where=where,
    )
    figures = {
        "periode": periode,
        "penduduk": population,
        "program": _summary(storage, periode, totals),
        "seconds": round(time.monotonic() - started, 1),
    }
    log.info("allocated %s in %.0f s", periode, figures["seconds"])
    return figures


def _summary(
    storage: Storage, periode: str, totals: list[tuple[str, str, int]]
) -> list[dict[str, Any]]:
    """Per program: quota, recipients before and after, kab/kota per status, movements."""
    kuota = storage.read("gold/kuota").where(F.col("periode") == periode)
    by_status = {
        (r["program"], r["status"]): r["count"]
        for r in kuota.groupBy("program", "status").count().collect()
    }
    current = {
        r["program"]: r["n"]
        for r in kuota.groupBy("program").agg(F.sum("penerima_saat_ini").alias("n")).collect()
    }
    chosen = {
        r["program"]: r["count"]
        for r in storage.read("gold/penerima_program")
        .where(F.col("periode") == periode)
        .groupBy("program")
        .count()
        .collect()
    }
    moves: dict[str, dict[str, int]] = {}
    for r in storage.read("gold/mutasi_program").where(F.col("periode") == periode).collect():
        moves.setdefault(r["program"], {})[f"{r['arah']}:{r['alasan']}"] = r["jumlah"]
    return [
        {
            "program": program,
            "unit": unit,
            "kuota": quota,
            "penerima_saat_ini": current.get(program, 0),
            "penerima_baru": chosen.get(program, 0),
            "kab": {s: by_status.get((program, s), 0) for s in ("KURANG", "LEBIH", "SESUAI")},
            "mutasi": moves.get(program, {}),
        }
        for program, unit, quota in totals
    ]


def format_figures(figures: dict[str, Any]) -> str:
    lines = [f"periode {figures['periode']}, penduduk DTSEN {figures['penduduk']}"]
    lines.append(
        f"{'program':<8} {'unit':<9} {'kuota':>8} {'sebelum':>8} {'sesudah':>8} "
        f"{'KURANG':>6} {'LEBIH':>6} {'SESUAI':>6}"
    )
    for p in figures["program"]:
        lines.append(
            f"{p['program']:<8} {p['unit']:<9} {p['kuota']:>8} {p['penerima_saat_ini']:>8} "
            f"{p['penerima_baru']:>8} {p['kab']['KURANG']:>6} {p['kab']['LEBIH']:>6} "
            f"{p['kab']['SESUAI']:>6}"
        )
        lines += [f"    {k:<34} {v:>8}" for k, v in sorted(p["mutasi"].items())]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    return cli.run_stage(argv, __doc__.splitlines()[0], allocation, format_figures)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
