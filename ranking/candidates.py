"""A program's candidate units: who is in the desil range, eligible, receiving, checked.

Bridges the published ranking (``gold/peringkat``, ``gold/kelayakan``) and the current
recipient list (``program/penerima``, keyed by NIK) to the unit shape
:func:`ranking.allocation.allocate` takes: families for PKH and SEMBAKO, persons for
PBI-JK. A family receives a family program when any member's NIK is on its list;
"ground-checked" is read from any program's recipient row (the only ground-check
record a delivery carries).
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ranking.adjustments import by_nik

FAMILY_KEY = "dtsen_keluarga_id"
PERSON_KEY = "dtsen_individu_id"


def _recipient_flags(penerima: DataFrame, program: str) -> DataFrame:
    """``nik``, ``penerima`` (on this program's list), ``sudah_groundcheck`` (on any)."""
    return by_nik(
        penerima,
        "nik",
        F.max(F.col("program") == program).alias("penerima"),
        F.max(F.col("sudah_groundcheck") == 1).alias("sudah_groundcheck"),
    )


def candidates(
    unit: str,
    program: str,
    max_desil: int,
    desil: str,
    peringkat: DataFrame,
    kelayakan: DataFrame,
    persons: DataFrame,
    penerima: DataFrame,
) -> DataFrame:
    """One row per unit in the shape ``allocate`` takes, with both DTSEN ids kept.

    Args:
        unit: ``keluarga`` or ``individu``.
        program: program code on the recipient list (``PKH``, ``SEMBAKO``, ``PBI``).
        max_desil: the program's desil range is 1..max_desil of column ``desil``.
        peringkat: one period of ``gold/peringkat`` (with ``kode_kab``).
        kelayakan: the same period of ``gold/kelayakan``.
        persons: ``gold/individu`` (``dtsen_individu_id``, ``dtsen_keluarga_id``, ``nik``).
        penerima: ``program/penerima`` (``nik``, ``program``, ``sudah_groundcheck``).
    """
    flags = persons.join(_recipient_flags(penerima, program), "nik").select(
        PERSON_KEY, FAMILY_KEY, "penerima", "sudah_groundcheck"
    )
    ranks = peringkat.select(
        FAMILY_KEY,
        "kode_kab",
        F.col("persentil_nasional").alias("persentil"),
        (F.col(desil) <= max_desil).alias("dalam_desil"),
    )
    if unit == "keluarga":
        family_flags = flags.groupBy(FAMILY_KEY).agg(
            F.max("penerima").alias("penerima"),
            F.max("sudah_groundcheck").alias("sudah_groundcheck"),
        )
        layak = kelayakan.where(F.col(PERSON_KEY).isNull()).select(FAMILY_KEY, "layak")
        units = (
            ranks.join(layak, FAMILY_KEY, "left")
            .join(family_flags, FAMILY_KEY, "left")
            .withColumn("unit_id", F.col(FAMILY_KEY))
            .withColumn(PERSON_KEY, F.lit(None).cast("string"))
        )
    elif unit == "individu":
        layak = kelayakan.where(F.col(PERSON_KEY).isNotNull()).select(PERSON_KEY, "layak")
        units = (
            persons.select(PERSON_KEY, FAMILY_KEY)
            .join(ranks, FAMILY_KEY)
            .join(layak, PERSON_KEY, "left")
            .join(flags.drop(FAMILY_KEY), PERSON_KEY, "left")
            .withColumn("unit_id", F.col(PERSON_KEY))
        )
    else:
        raise ValueError(f"unit must be keluarga or individu, got {unit!r}")
    # A unit missing from kelayakan or from the recipient list is not eligible / not
    # receiving: false, never null, so the allocation's conditions stay two-valued.
    return units.select(
        "unit_id",
        FAMILY_KEY,
        PERSON_KEY,
        "kode_kab",
        "persentil",
        "dalam_desil",
        *[F.coalesce(c, F.lit(False)).alias(c) for c in ("layak", "penerima", "sudah_groundcheck")],
    )


def unknown_recipients(persons: DataFrame, penerima: DataFrame, program: str) -> DataFrame:
    """This program's recipients whose NIK matches no DTSEN person (they cannot stay)."""
    listed = _recipient_flags(penerima, program).where("penerima")
    return listed.join(persons.select("nik"), "nik", "left_anti")
