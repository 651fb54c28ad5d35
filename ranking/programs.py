"""Every program's allocation for one period, and the summary the allocate stage prints.

Per program (PKH, SEMBAKO, PBI by default): the national quota scaled to the register,
split over kab/kota by their share of the poor, candidates in priority order, the
selected recipients, the national pass over places a kab/kota could not fill, and who
enters and leaves, and why. Around them, from the update tables: the period's PBI
reactivation decisions and the ground-check queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import reduce
from typing import Any, Protocol

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ranking.allocation import (
    REDISTRIBUSI,
    REDISTRIBUSI_NASIONAL,
    allocate,
    changes,
    kab_quotas,
    quota_status,
    scale_quota,
)
from ranking.antrian import antrian_groundcheck
from ranking.candidates import candidates, unknown_recipients, with_update_flags
from ranking.groundcheck import found_visits
from ranking.reactivation import PBI, decide_requests, reactivation_state
from ranking.redistribution import redistribute
from ranking.usulan import waiting_list

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
KEPUTUSAN_LALU_SCHEMA = (
    "periode string, program string, dtsen_keluarga_id string, dtsen_individu_id string,"
    " penerima boolean, terpilih boolean"
)
"""The columns of earlier periods' ``gold/keputusan_program`` the reactivation rules read."""


class ProgramRules(Protocol):
    """A program's rules (``conf/programs.yaml``)."""

    unit: str
    max_desil: int
    desil: str
    national_quota: int


@dataclass(frozen=True)
class UpdateInputs:
    """What the update tables and earlier periods bring to one period's allocation.

    Every frame may be empty (the first period has no update, and no earlier period):
    then the rules that read it apply to nobody and the allocation is the first
    period's.
    """

    groundcheck: DataFrame
    """``gold/groundcheck``, this period and earlier."""
    usulan: DataFrame
    """``gold/usulan``, this period and earlier."""
    sanggahan: DataFrame
    """``gold/sanggahan``, this period and earlier."""
    permintaan: DataFrame
    """``gold/permintaan_reaktivasi``, this period's requests."""
    keputusan_lalu: DataFrame
    """``gold/keputusan_program`` of earlier periods (:data:`KEPUTUSAN_LALU_SCHEMA`)."""
    reaktivasi_lalu: DataFrame
    """``gold/reaktivasi`` of earlier periods."""


@dataclass
class Allocation:
    """One period's allocation tables (lazy) and each program's scaled quota."""

    kuota: DataFrame
    keputusan: DataFrame
    mutasi: DataFrame
    reaktivasi: DataFrame
    """``gold/reaktivasi``: this period's reactivation requests and decisions."""
    antrian: DataFrame
    """``gold/antrian_groundcheck``: the families to visit next."""
    totals: list[tuple[str, str, int]]
    """(program, unit, national quota scaled to the register)."""
    population: int
    """Persons in the register (the quotas' scale)."""
    _cached: list[DataFrame] = field(default_factory=list)

    def release(self) -> None:
        """Unpersist the cached intermediates (after the tables are written)."""
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
    updates: UpdateInputs,
) -> Allocation:
    """Quotas, decisions and movements of every program for ``periode``, the period's
    reactivation decisions and the ground-check queue.

    Per program: :func:`ranking.candidates.candidates` with the update flags
    (``DITEMUKAN`` visits, the program's waiting list, and for PBI the reactivations),
    :func:`ranking.allocation.allocate` within each kab's quota, then
    :func:`ranking.redistribution.redistribute` over the places kabs left empty.

    Args:
        national_population: DTSEN persons nationally; quotas scale by register / this.
        persons: ``gold/individu`` (``dtsen_individu_id``, ``dtsen_keluarga_id``, ``nik``).
        penerima: the delivery's current recipients (``program/penerima``).
        poor: ``referensi/kemiskinan`` (poor persons per kab/kota).
        updates: the update tables and earlier periods' decisions (empty frames in the
            first period).
    """
    population = persons.count()
    reaktivasi = decide_requests(
        periode, updates.permintaan, kelayakan, updates.keputusan_lalu
    ).persist(StorageLevel.MEMORY_AND_DISK)
    found = found_visits(updates.groundcheck, periode)
    state = reactivation_state(
        periode, updates.reaktivasi_lalu.unionByName(reaktivasi), persons, found
    ).persist(StorageLevel.MEMORY_AND_DISK)
    quotas, decisions, movements, totals = [], [], [], []
    cached = [reaktivasi, state]
    for program, rules in programs.items():
        national = scale_quota(rules.national_quota, population, national_population)
        units = with_update_flags(
            candidates(
                rules.unit,
                program,
                rules.max_desil,
                rules.desil,
                peringkat,
                kelayakan,
                persons,
                penerima,
            ),
            found,
            waiting_list(updates.usulan, periode, program),
            state if program == PBI else None,
        ).persist(StorageLevel.MEMORY_AND_DISK)
        kuota = kab_quotas(poor, national)
        current = (
            units.where("penerima")
            .groupBy("kode_kab")
            .agg(F.count(F.lit(1)).alias("penerima_saat_ini"))
        )
        decided = redistribute(allocate(units, kuota), kuota).persist(StorageLevel.MEMORY_AND_DISK)
        label = [F.lit(periode).alias("periode"), F.lit(program).alias("program")]
        quotas.append(quota_status(kuota, current).select(*label, "*"))
        decisions.append(decided.select(*label, *DECISION_COLUMNS))
        movements.append(
            changes(decided, unknown_recipients(persons, penerima, program)).select(*label, "*")
        )
        totals.append((program, rules.unit, national))
        cached += [units, decided]

    def union(frames: list[DataFrame]) -> DataFrame:
        return reduce(DataFrame.unionByName, frames)

    keputusan = union(decisions)
    antrian = antrian_groundcheck(
        periode,
        keputusan,
        peringkat,
        updates.groundcheck,
        updates.usulan,
        updates.sanggahan,
        state.where("jatuh_tempo"),
    )
    return Allocation(
        union(quotas),
        keputusan,
        union(movements),
        reaktivasi,
        antrian,
        totals,
        population,
        cached,
    )


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
    redistributed = f"{REDISTRIBUSI}:{REDISTRIBUSI_NASIONAL}"
    return [
        {
            "program": program,
            "unit": unit,
            "kuota": quota,
            "penerima_saat_ini": current.get(program, 0),
            "penerima_baru": chosen.get(program, 0),
            "kab": {s: by_status.get((program, s), 0) for s in STATUSES},
            "mutasi": moves.get(program, {}),
            "redistribusi": moves.get(program, {}).get(redistributed, 0),
        }
        for program, unit, quota in totals
    ]


def update_summary(antrian: DataFrame, reaktivasi: DataFrame) -> dict[str, Any]:
    """The queue's size, in total and per reason, and the reactivation requests per outcome.

    Args:
        antrian, reaktivasi: one period of the written tables (collected as counts per
            reason and per outcome: a handful of rows).
    """
    per_reason = antrian.select(F.explode("alasan").alias("alasan")).groupBy("alasan").count()
    outcomes = reaktivasi.groupBy("status", "alasan_status").count()
    return {
        "antrian": {
            "keluarga": antrian.count(),
            "alasan": {r["alasan"]: r["count"] for r in per_reason.collect()},
        },
        "reaktivasi": {
            ":".join(filter(None, (r["status"], r["alasan_status"]))): r["count"]
            for r in outcomes.collect()
        },
    }


def format_figures(figures: dict[str, Any]) -> str:
    """The allocate stage's summary: a block per program, the queue, the reactivations."""
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
    antrian, reaktivasi = figures["antrian"], figures["reaktivasi"]
    lines.append(f"{'antrian groundcheck (keluarga)':<38} {antrian['keluarga']:>8}")
    lines += [f"    {k:<34} {v:>8}" for k, v in sorted(antrian["alasan"].items())]
    lines.append(f"{'reaktivasi PBI (permintaan)':<38} {sum(reaktivasi.values()):>8}")
    lines += [f"    {k:<34} {v:>8}" for k, v in sorted(reaktivasi.items())]
    return "\n".join(lines)
