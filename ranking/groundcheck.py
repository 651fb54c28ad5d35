"""Ground-check visits (``gold/groundcheck``): each family's latest outcome, and who was found.

A ground check (verval) is a field visit by a social facilitator. The update stage
attaches each visit to a family and writes one row per visit, partitioned by the
period whose delivery brought it. The rules that depend on visits read them here:

- the **latest** visit of a family up to a period decides its outcome
  (:func:`latest_visits`): a family found once and later not found at its address is not
  eligible, and a family not found once and found later is eligible again, so an old
  outcome must never outlive a newer visit;
- a family with a ``DITEMUKAN`` visit in a period or earlier counts as ground-checked
  (:func:`found_visits`): its golden values are freshly observed, so its desil is
  trusted for the allocation's "ground-checked" priorities and exits.

Visits the update could not attach to a family (null ``dtsen_keluarga_id``) decide
nothing here.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from linkage.fieldwork import DITEMUKAN

__all__ = [
    "GROUNDCHECK_SCHEMA",
    "attached_visits",
    "family_outcomes",
    "found_visits",
    "latest_visits",
    "person_outcomes",
]

GROUNDCHECK_SCHEMA = (
    "periode string, id_gc string, tanggal_gc date, dtsen_keluarga_id string, id_usulan string,"
    " hasil string, perubahan array<string>, individu_tidak_ditemukan array<string>"
)
"""``gold/groundcheck`` as the update stage writes it (one row per visit)."""

ALAMAT_TIDAK_DITEMUKAN = "ALAMAT_TIDAK_DITEMUKAN"
KELUARGA_TIDAK_DITEMUKAN = "KELUARGA_TIDAK_DITEMUKAN"
PINDAH = "PINDAH"
MENOLAK = "MENOLAK"
FAMILY_OUTCOMES = (ALAMAT_TIDAK_DITEMUKAN, KELUARGA_TIDAK_DITEMUKAN, PINDAH, MENOLAK)
"""Visit outcomes that exclude the family; each is its own reason code in ``gold/kelayakan``."""
INDIVIDU_TIDAK_DITEMUKAN = "INDIVIDU_TIDAK_DITEMUKAN"
"""The person-level reason of a member listed but not found on the family's latest visit."""

FAMILY_KEY = "dtsen_keluarga_id"
PERSON_KEY = "dtsen_individu_id"


def attached_visits(groundcheck: DataFrame, periode: str) -> DataFrame:
    """Visits of ``periode`` and earlier that were attached to a family."""
    return groundcheck.where((F.col("periode") <= periode) & F.col(FAMILY_KEY).isNotNull())


def latest_visits(groundcheck: DataFrame, periode: str) -> DataFrame:
    """Each family's latest visit up to and including ``periode``.

    "Latest" is ordered by (``periode``, ``tanggal_gc``, ``id_gc``): the period whose
    delivery brought the visit first, because a visit reaches the register only with
    the update that follows it (a null or mistyped date must not let an old visit win);
    then the visit date (null first, i.e. oldest); ``id_gc``, the visit's key, makes the
    choice unique when two visits share a date. An aggregate (``max_by``), not a window:
    one row per family comes out of one shuffle.

    Args:
        groundcheck: ``gold/groundcheck`` (any periods; later ones are ignored).
        periode: the period being decided, e.g. ``2025Q2``.

    Returns:
        ``dtsen_keluarga_id``, ``periode_gc``, ``tanggal_gc``, ``id_gc``, ``hasil``,
        ``individu_tidak_ditemukan`` (never null: empty when none), one row per family.
    """
    order = F.struct("periode", "tanggal_gc", "id_gc")
    visit = F.struct(
        F.col("periode").alias("periode_gc"),
        "tanggal_gc",
        "id_gc",
        "hasil",
        F.coalesce("individu_tidak_ditemukan", F.array().cast("array<string>")).alias(
            "individu_tidak_ditemukan"
        ),
    )
    return (
        attached_visits(groundcheck, periode)
        .groupBy(FAMILY_KEY)
        .agg(F.max_by(visit, order).alias("v"))
        .select(FAMILY_KEY, "v.*")
    )


def family_outcomes(latest: DataFrame) -> DataFrame:
    """Family reason codes from each family's latest visit (:func:`latest_visits`).

    ``ALAMAT_TIDAK_DITEMUKAN`` and ``KELUARGA_TIDAK_DITEMUKAN`` are the decree's "alamat
    tidak ditemukan", ``MENOLAK`` is "menolak bantuan", and ``PINDAH`` means the family is
    no longer at the address it is registered at (not eligible there until it is found
    at its new one). A ``DITEMUKAN`` latest visit gives no code: it clears any earlier one.

    Returns:
        ``dtsen_keluarga_id``, ``kode`` (string), only for families with such an outcome.
    """
    return latest.where(F.col("hasil").isin(*FAMILY_OUTCOMES)).select(
        FAMILY_KEY, F.col("hasil").alias("kode")
    )


def person_outcomes(latest: DataFrame) -> DataFrame:
    """``INDIVIDU_TIDAK_DITEMUKAN`` for each member listed not found on the latest visit.

    Keyed by person *and* the visited family: a person who has since been attached to
    another family is not judged by the old family's visit.

    Returns:
        ``dtsen_keluarga_id``, ``dtsen_individu_id``, ``kode`` (distinct rows).
    """
    return (
        latest.select(FAMILY_KEY, F.explode("individu_tidak_ditemukan").alias(PERSON_KEY))
        .where(F.col(PERSON_KEY).isNotNull())
        .distinct()
        .withColumn("kode", F.lit(INDIVIDU_TIDAK_DITEMUKAN))
    )


def found_visits(groundcheck: DataFrame, periode: str) -> DataFrame:
    """Every ``DITEMUKAN`` visit of ``periode`` and earlier: who has been ground-checked, when.

    Returns:
        ``dtsen_keluarga_id``, ``periode_gc``, ``tanggal_gc``, one row per visit.
    """
    return (
        attached_visits(groundcheck, periode)
        .where(F.col("hasil") == DITEMUKAN)
        .select(FAMILY_KEY, F.col("periode").alias("periode_gc"), "tanggal_gc")
    )
