"""Movement between two periods: desil transitions and program entries and exits.

Both functions compare two snapshots of one published table, each holding a single
``periode`` (the caller filters the table by period).
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ranking.allocation import DI_LUAR_DESIL, KELUAR, LEBIH_KUOTA, MASUK, TIDAK_LAYAK

__all__ = ["desil_transitions", "program_movements"]

FAMILY_KEY = "dtsen_keluarga_id"
PERSON_KEY = "dtsen_individu_id"
# A program unit: a family for PKH and SEMBAKO, a person (with their family) for PBI.
_UNIT = ("program", FAMILY_KEY, PERSON_KEY)
TIDAK_DIPERINGKAT = "TIDAK_DIPERINGKAT"


def desil_transitions(
    before: DataFrame, after: DataFrame, desil_col: str = "desil_nasional"
) -> DataFrame:
    """How many families moved from each desil to each other between two periods.

    Args:
        before: ``gold/peringkat`` of the earlier period (one row per family).
        after: ``gold/peringkat`` of the later period.
        desil_col: which desil to compare: ``desil_nasional``, ``desil_provinsi`` or
            ``desil_kabkota``.

    Returns:
        ``desil_lama``, ``desil_baru``, ``jumlah_keluarga`` (long), one row per observed
        pair. A family ranked in one period only has a null ``desil_lama`` (new) or
        ``desil_baru`` (gone: merged, split or removed); a family ranked without a
        desil reads the same way.

    Raises:
        ValueError: ``desil_col`` is missing from either snapshot.
    """
    for name, df in (("before", before), ("after", after)):
        if desil_col not in df.columns:
            raise ValueError(f"{name} has no column {desil_col!r}; it has {df.columns}")
    old = before.select(FAMILY_KEY, F.col(desil_col).alias("desil_lama"))
    new = after.select(FAMILY_KEY, F.col(desil_col).alias("desil_baru"))
    return (
        old.join(new, FAMILY_KEY, "full")
        .groupBy("desil_lama", "desil_baru")
        .agg(F.count(F.lit(1)).alias("jumlah_keluarga"))
    )


def _missing_from(df: DataFrame, other: DataFrame) -> DataFrame:
    """Rows of ``df`` whose unit is not in ``other``; null-safe, since a family-level
    unit has a null ``dtsen_individu_id``. Aliased so it works on two filters of one
    table."""
    left, right = df.alias("l"), other.alias("r")
    same_unit = [F.col(f"l.{c}").eqNullSafe(F.col(f"r.{c}")) for c in _UNIT]
    return left.join(right, same_unit, "left_anti")


def program_movements(
    before: DataFrame, after: DataFrame, decisions_after: DataFrame | None = None
) -> DataFrame:
    """Entries into and exits from each program between two periods.

    ``gold/penerima_program`` holds selected units only, so why a unit left is read
    from the later period's decisions (``gold/keputusan_program``) when given: not
    eligible (``TIDAK_LAYAK``), outside the desil range (``DI_LUAR_DESIL``), eligible
    and in range but beyond the kab's quota (``LEBIH_KUOTA``), or no longer a
    candidate at all (``TIDAK_DIPERINGKAT``: the family or person left the register,
    e.g. merged by linkage). Without decisions every exit reads ``KELUAR``.

    Args:
        before: ``gold/penerima_program`` of the earlier period (``program``,
            ``dtsen_keluarga_id``, ``dtsen_individu_id``, ``alasan``).
        after: the same table for the later period.
        decisions_after: optionally ``gold/keputusan_program`` of the later period
            (the unit columns plus ``layak`` and ``dalam_desil``).

    Returns:
        ``program``, ``arah``, ``alasan``, ``jumlah`` (long): ``MASUK`` per program and
        the later period's ``alasan`` for units only in ``after``; ``KELUAR`` per
        program and exit reason for units only in ``before``. Units in both periods
        are not counted.
    """
    entries = _missing_from(after, before).select("program", F.lit(MASUK).alias("arah"), "alasan")
    gone = _missing_from(before, after).select(*_UNIT)
    if decisions_after is None:
        exits = gone.select("program", F.lit(KELUAR).alias("arah"), F.lit(KELUAR).alias("alasan"))
    else:
        why = decisions_after.select(
            *_UNIT,
            F.when(~F.col("layak"), TIDAK_LAYAK)
            .when(~F.col("dalam_desil"), DI_LUAR_DESIL)
            .otherwise(LEBIH_KUOTA)
            .alias("_alasan"),
        )
        left, right = gone.alias("l"), why.alias("r")
        same_unit = [F.col(f"l.{c}").eqNullSafe(F.col(f"r.{c}")) for c in _UNIT]
        exits = left.join(right, same_unit, "left").select(
            F.col("l.program").alias("program"),
            F.lit(KELUAR).alias("arah"),
            F.coalesce("_alasan", F.lit(TIDAK_DIPERINGKAT)).alias("alasan"),
        )
    return (
        entries.unionByName(exits)
        .groupBy("program", "arah", "alasan")
        .agg(F.count(F.lit(1)).alias("jumlah"))
    )


def format_report(report: dict[str, Any]) -> str:
    """The movement report as the job prints it: the desil matrix, program moves."""
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
