"""Exclusions from social assistance (``gold/kelayakan``).

Kepmensos 79/HUK/2025 lists who may not receive aid (reference/domain.md section 8).
This module applies the criteria the delivered data can show: the admin tables of
every delivery and, from the first update on, the ground checks (``gold/groundcheck``);
the others (social-welfare staff, certified teachers, company owners, health workers,
village officials) have no source in the input contract.

Person-level reason codes:

- ``MENINGGAL``: Dukcapil records the person's NIK with ``STATUS`` ``MENINGGAL``
  (on any of its rows: a NIK listed twice, once as deceased, is not trusted as alive);
- ``BKN_<KATEGORI>_<STATUS>`` (e.g. ``BKN_ASN_AKTIF``, ``BKN_TNI_PENSIUN``): the NIK is
  on the BKN civil-service / military / police / SOE / officials list, one code per
  distinct (kategori, status); a missing kategori or status reads ``TIDAK_DIKETAHUI``;
- ``UPAH_DI_ATAS_UMP``: the BPJS Ketenagakerjaan wage is above the UMP of the
  person's province (:func:`ranking.adjustments.with_wage_ratio`);
- ``DAFTAR_NEGATIF``: the NIK is on the negative list (e.g. online gambling);
- ``INDIVIDU_TIDAK_DITEMUKAN``: the family's latest ground check listed the person
  as not found (the decree's "individu tidak ditemukan").

Family-level reason codes, from the members' reasons:

- ``ANGGOTA_BKN``: a member has a BKN code (the decree excludes the family of a civil
  servant, soldier, police officer, SOE staff or official, not only the person);
- ``UPAH_DI_ATAS_UMP``, ``DAFTAR_NEGATIF``: a member has that code;
- ``SEMUA_ANGGOTA_MENINGGAL``: every member is deceased. One deceased member does
  not exclude the family; it excludes that person only;
- ``ALAMAT_TIDAK_DITEMUKAN``, ``KELUARGA_TIDAK_DITEMUKAN``, ``MENOLAK``, ``PINDAH``: the
  outcome of the family's latest ground check up to the period
  (:mod:`ranking.groundcheck`); a later ``DITEMUKAN`` visit clears them. A person not
  found does not exclude the family, only the person.

Members' reasons count whether or not the member is deceased: a deceased civil
servant's pension passes to the widow, and a stale record is for a ground check to
clear, not for this table to guess.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ranking.adjustments import by_nik, with_wage_ratio
from ranking.groundcheck import family_outcomes, latest_visits, person_outcomes

__all__ = ["kelayakan"]

MENINGGAL = "MENINGGAL"
UPAH_DI_ATAS_UMP = "UPAH_DI_ATAS_UMP"
DAFTAR_NEGATIF = "DAFTAR_NEGATIF"
ANGGOTA_BKN = "ANGGOTA_BKN"
SEMUA_ANGGOTA_MENINGGAL = "SEMUA_ANGGOTA_MENINGGAL"
BKN_PREFIX = "BKN_"

PERSON_KEY = "dtsen_individu_id"
FAMILY_KEY = "dtsen_keluarga_id"


def _code_part(value: Column) -> Column:
    return F.coalesce(F.upper(F.trim(value)), F.lit("TIDAK_DIKETAHUI"))


def _nik_reasons(dukcapil: DataFrame, bkn: DataFrame, negatif: DataFrame) -> DataFrame:
    """Reason codes that depend on the NIK alone: ``nik``, ``kode`` (a set of codes).

    The three sources are stacked as (NIK, code) rows and aggregated once, so their
    repeated rows collapse in one shuffle.
    """
    deceased = dukcapil.where(F.upper(F.trim("STATUS")) == MENINGGAL).select(
        F.col("NIK").alias("nik"), F.lit(MENINGGAL).alias("kode")
    )
    civil = bkn.select(
        "nik",
        F.concat(
            F.lit(BKN_PREFIX),
            _code_part(F.col("kategori")),
            F.lit("_"),
            _code_part(F.col("status")),
        ).alias("kode"),
    )
    negative = negatif.select("nik", F.lit(DAFTAR_NEGATIF).alias("kode"))
    rows = deceased.unionByName(civil).unionByName(negative)
    return by_nik(rows, "nik", F.collect_set("kode").alias("kode"))


def _or_empty(codes: Column) -> Column:
    return F.coalesce(codes, F.array().cast("array<string>"))


def _sorted_codes(codes: Column) -> Column:
    """Sorted and distinct: the contract's form of ``alasan``."""
    return F.array_sort(F.array_distinct(codes))


def _family_codes(own: Column) -> Column:
    """Aggregate over a family's members' own codes: the family-level codes."""

    return F.array_compact(
        F.array(
            F.when(F.bool_or(F.exists(own, lambda c: c.startswith(BKN_PREFIX))), ANGGOTA_BKN),
            F.when(F.bool_or(F.array_contains(own, UPAH_DI_ATAS_UMP)), UPAH_DI_ATAS_UMP),
            F.when(F.bool_or(F.array_contains(own, DAFTAR_NEGATIF)), DAFTAR_NEGATIF),
            F.when(F.bool_and(F.array_contains(own, MENINGGAL)), SEMUA_ANGGOTA_MENINGGAL),
        )
    )


def _with_codes(frame: DataFrame, codes: DataFrame, keys: list[str], column: str) -> DataFrame:
    """Append to ``column`` (an array of codes) the ``kode`` rows of ``codes`` that match
    ``keys``; rows of ``frame`` without a match keep their codes. ``codes`` holds at most
    one row per key (one latest visit per family), so no row is repeated."""
    return (
        frame.join(codes, keys, "left")
        .withColumn(column, F.array_compact(F.concat(column, F.array("kode"))))
        .drop("kode")
    )


def kelayakan(
    persons: DataFrame,
    dukcapil: DataFrame,
    bkn: DataFrame,
    bpjs: DataFrame,
    negatif: DataFrame,
    ump: DataFrame,
    periode: str,
    groundcheck: DataFrame | None = None,
) -> DataFrame:
    """Eligibility of every DTSEN person and family, with the reasons for exclusion.

    Admin tables are aggregated to one row per NIK before joining, so NIKs outside
    DTSEN are ignored and repeated rows neither multiply persons nor repeat codes.
    Persons without a NIK can only be excluded through their family.

    Args:
        persons: ``gold/individu`` (``dtsen_individu_id``, ``dtsen_keluarga_id``, ``nik``,
            ``kode_wilayah``), one row per person, each with a family id (the linkage
            gives every person one).
        dukcapil: bronze Dukcapil (``NIK``, ``STATUS``).
        bkn: bronze BKN (``nik``, ``kategori``, ``status``).
        bpjs: bronze BPJS Ketenagakerjaan (``nik``, ``upah_bulanan``).
        negatif: bronze negative list (``nik``, ``alasan``).
        ump: ``referensi/ump`` (``kode_prov``, ``ump``).
        periode: the period label written on every row, e.g. ``2025Q2``.
        groundcheck: ``gold/groundcheck`` (the visits of ``periode`` and earlier
            decide; later ones are ignored), or None before the first update.

    Returns:
        The ``gold/kelayakan`` columns in contract order: ``periode``,
        ``dtsen_keluarga_id``, ``dtsen_individu_id`` (null on the family row), ``layak``,
        ``alasan`` (array<string>, sorted, distinct, empty when eligible). One row per
        family (its family reasons) and one per person (own reasons plus the family's);
        ``layak`` is true exactly when ``alasan`` is empty.
    """
    wage_code = F.when(F.col("upah_rasio_ump") > 1.0, F.lit(UPAH_DI_ATAS_UMP))
    people = (
        with_wage_ratio(persons.select(PERSON_KEY, FAMILY_KEY, "nik", "kode_wilayah"), bpjs, ump)
        .join(_nik_reasons(dukcapil, bkn, negatif), "nik", "left")
        .select(
            PERSON_KEY,
            FAMILY_KEY,
            F.array_compact(F.concat(_or_empty(F.col("kode")), F.array(wage_code))).alias(
                "sendiri"
            ),
        )
    )
    families = people.groupBy(FAMILY_KEY).agg(_family_codes(F.col("sendiri")).alias("keluarga"))
    if groundcheck is not None:
        latest = latest_visits(groundcheck, periode)
        people = _with_codes(people, person_outcomes(latest), [PERSON_KEY, FAMILY_KEY], "sendiri")
        families = _with_codes(families, family_outcomes(latest), [FAMILY_KEY], "keluarga")

    family_rows = families.select(
        FAMILY_KEY,
        F.lit(None).cast("string").alias(PERSON_KEY),
        _sorted_codes(F.col("keluarga")).alias("alasan"),
    )
    person_rows = people.join(families, FAMILY_KEY).select(
        FAMILY_KEY,
        PERSON_KEY,
        _sorted_codes(F.concat("sendiri", "keluarga")).alias("alasan"),
    )
    return family_rows.unionByName(person_rows).select(
        F.lit(periode).alias("periode"),
        FAMILY_KEY,
        PERSON_KEY,
        (F.size("alasan") == 0).alias("layak"),
        "alasan",
    )
