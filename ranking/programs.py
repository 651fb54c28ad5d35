"""Every program's allocation for one period, and the summary the allocate stage prints.

Per program (PKH, SEMBAKO, PBI by default): the national quota scaled to the register,
split over kab/kota by their share of the poor, candidates in priority order, the
selected recipients, and who enters and leaves, and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import reduce
from typing import Any, Protocol

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ranking.allocation import allocate, changes, kab_quotas, quota_status, scale_quota
from ranking.candidates import candidates, unknown_recipients

DECISION_COLUMNS = (
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
STATUSES = ("KURANG", "LEBIH", "SESUAI")


class ProgramRules(Protocol):
    """A program's rules (``conf/programs.yaml``)."""

    unit: str
    max_desil: int
    desil: str
    national_quota: int


@dataclass
class Allocation:
    """One period's allocation tables (lazy) and each program's scaled quota."""

    kuota: DataFrame
    keputusan: DataFrame
    mutasi: DataFrame
    totals: list[tuple[str, str, int]]
    """(program, unit, national quota scaled to the register)."""
    population: int
    """Persons in the register (the quotas' scale)."""
    _cached: list[DataFrame] = field(default_factory=list)

    def release(self) -> None:
        """Unpersist each program's candidates (after the three tables are written)."""
        for frame in self._cached:
            frame.unpersist()


def allocate_programs(
    programs: dict[str, ProgramRules],
    periode: str,
    national_population: int,
    peringkat: DataFrame,
    kelayakan: DataFrame,
    persons: DataFrame,
    penerima: DataFrame,
    poor: DataFrame,
) -> Allocation:
    """Quotas, decisions and movements of every program for ``periode``.

    Args:
        national_population: DTSEN persons nationally; quotas scale by register / this.
        persons: ``gold/individu`` (``dtsen_individu_id``, ``dtsen_keluarga_id``, ``nik``).
        penerima: the delivery's current recipients (``program/penerima``).
        poor: ``referensi/kemiskinan`` (poor persons per kab/kota).
    """
    population = persons.count()
    quotas, decisions, movements, totals, cached = [], [], [], [], []
    for program, rules in programs.items():
        national = scale_quota(rules.national_quota, population, national_population)
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
        decisions.append(decided.select(*label, *DECISION_COLUMNS))
        movements.append(
            changes(decided, unknown_recipients(persons, penerima, program)).select(*label, "*")
        )
        totals.append((program, rules.unit, national))
        cached.append(units)

    def union(frames: list[DataFrame]) -> DataFrame:
        return reduce(DataFrame.unionByName, frames)

    return Allocation(union(quotas), union(decisions), union(movements), totals, population, cached)


def recipients(keputusan: DataFrame) -> DataFrame:
    """``gold/penerima_program``: the selected units of ``gold/keputusan_program``."""
    return keputusan.where("terpilih").select(
        "periode", "program", "dtsen_keluarga_id", "dtsen_individu_id", "prioritas", "alasan"
    )


def summary(
    kuota: DataFrame, penerima: DataFrame, mutasi: DataFrame, totals: list[tuple[str, str, int]]
) -> list[dict[str, Any]]:
    """Per program: quota, recipients before and after, kab/kota per status, movements.

    Args:
        kuota, penerima, mutasi: one period of the written tables (small aggregates are
            collected: programs x statuses, programs x reasons).
    """
    by_status = {
        (r["program"], r["status"]): r["count"]
        for r in kuota.groupBy("program", "status").count().collect()
    }
    current = {
        r["program"]: r["n"]
        for r in kuota.groupBy("program").agg(F.sum("penerima_saat_ini").alias("n")).collect()
    }
    chosen = {r["program"]: r["count"] for r in penerima.groupBy("program").count().collect()}
    moves: dict[str, dict[str, int]] = {}
    for r in mutasi.collect():
        moves.setdefault(r["program"], {})[f"{r['arah']}:{r['alasan']}"] = r["jumlah"]
    return [
        {
            "program": program,
            "unit": unit,
            "kuota": quota,
            "penerima_saat_ini": current.get(program, 0),
            "penerima_baru": chosen.get(program, 0),
            "kab": {s: by_status.get((program, s), 0) for s in STATUSES},
            "mutasi": moves.get(program, {}),
        }
        for program, unit, quota in totals
    ]


def format_figures(figures: dict[str, Any]) -> str:
    """The allocate stage's summary, a block per program."""
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
