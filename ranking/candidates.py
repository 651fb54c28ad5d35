"""A program's candidate units: who is in the desil range, eligible, receiving, checked.

Bridges the published ranking (``gold/peringkat``, ``gold/kelayakan``) and the current
recipient list (``program/penerima``, keyed by NIK) to the unit shape
:func:`ranking.allocation.allocate` takes: families for PKH and SEMBAKO, persons for
PBI-JK. A family receives a family program when any member's NIK is on its list;
"ground-checked" is read from any program's recipient row (the only ground-check
record a first delivery carries). From the first update on, :func:`with_update_flags`
adds what the update tables say: ``DITEMUKAN`` visits, the approved waiting list and
the PBI reactivations.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ranking.adjustments import by_nik

FAMILY_KEY = "dtsen_keluarga_id"
PERSON_KEY = "dtsen_individu_id"
REACTIVATION = ("reaktivasi", "batas_reaktivasi")


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


def with_update_flags(
    units: DataFrame,
    found: DataFrame,
    waiting: DataFrame,
    reactivations: DataFrame | None = None,
) -> DataFrame:
    """Add the flags an update period brings to :func:`candidates`' units.

    - ``sudah_groundcheck`` also holds for a unit whose family has a ``DITEMUKAN`` visit
      in ``found``: its desil comes from freshly observed variables, so a recipient
      outside the range is confirmed outside it and a non-recipient in range is
      "already ground-checked";
    - ``daftar_tunggu``: the unit's family is on the program's approved waiting list;
    - ``reaktivasi``, ``batas_reaktivasi``: the person's reactivation keeps them or has
      run out (:func:`ranking.reactivation.reactivation_state`, PBI only); ``penerima``
      also holds for a member who received PBI through a reactivation last period.

    Args:
        units: :func:`candidates`' output.
        found: ``dtsen_keluarga_id`` of ground-checked families (repeats allowed).
        waiting: ``dtsen_keluarga_id`` of the program's waiting-list families.
        reactivations: the state per person, or None for a family program.

    Returns:
        ``units``' columns plus ``daftar_tunggu``, ``reaktivasi``, ``batas_reaktivasi``
        (booleans, never null).
    """
    checked = found.select(FAMILY_KEY).distinct().withColumn("_gc", F.lit(True))
    tunggu = waiting.select(FAMILY_KEY).distinct().withColumn("daftar_tunggu", F.lit(True))
    out = units.join(checked, FAMILY_KEY, "left").join(tunggu, FAMILY_KEY, "left")
    if reactivations is None:
        out = out.withColumns({c: F.lit(None).cast("boolean") for c in (*REACTIVATION, "_aktif")})
    else:
        out = out.join(
            reactivations.select(PERSON_KEY, *REACTIVATION, F.col("penerima").alias("_aktif")),
            PERSON_KEY,
            "left",
        )

    def flag(name: str) -> Column:
        return F.coalesce(F.col(name), F.lit(False))

    return out.withColumns(
        {
            "sudah_groundcheck": F.col("sudah_groundcheck") | flag("_gc"),
            "penerima": F.col("penerima") | flag("_aktif"),
            **{c: flag(c) for c in ("daftar_tunggu", *REACTIVATION)},
        }
    ).select(*units.columns, "daftar_tunggu", *REACTIVATION)


def unknown_recipients(persons: DataFrame, penerima: DataFrame, program: str) -> DataFrame:
    """This program's recipients whose NIK matches no DTSEN person (they cannot stay)."""
    listed = _recipient_flags(penerima, program).where("penerima")
    return listed.join(persons.select("nik"), "nik", "left_anti")
