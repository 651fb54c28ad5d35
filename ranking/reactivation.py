"""PBI-JK reactivation: which requests are granted, and where each reactivation stands.

Kepmensos 80/HUK/2025 (reference/domain.md §8, updates.md ``program/reaktivasi``): a
PBI-JK member dropped in an earlier period can be reactivated for a chronic,
catastrophic or emergency condition when the dinas sosial attests that they are poor or
vulnerable (``surat_dinsos``) and a health facility that care is needed
(``surat_faskes``), whatever their desil. The record must then be updated within two
DTSEN periods, or the member drops again.

Two steps:

- :func:`decide_requests` judges this period's requests (``gold/reaktivasi``);
- :func:`reactivation_state` says, for every member reactivated recently, what the
  allocation does with them this period. Reactivated in period R, a member is kept
  (``REAKTIVASI``, :mod:`ranking.allocation`) in R and R+1; in R+2 they are judged by the
  normal rules if a ``DITEMUKAN`` ground check of their family happened since the
  reactivation, and dropped (``BATAS_REAKTIVASI``) otherwise. From R+3 on nothing
  special applies.

How reactivations count against the PBI quota: a kept member is a PBI unit of their
family's kab/kota with ``prioritas`` 1, so they take that kab's first places and the
other units fill what remains; they are kept even when reactivations alone exceed the
kab's quota (the need is medical), which then lends no place to the national pass.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ranking.allocation import TIDAK_LAYAK

__all__ = [
    "PERMINTAAN_SCHEMA",
    "REAKTIVASI_SCHEMA",
    "decide_requests",
    "reactivation_state",
]

PBI = "PBI"
"""The one program reactivation applies to."""

PERMINTAAN_SCHEMA = (
    "periode string, dtsen_individu_id string, dtsen_keluarga_id string, tanggal date,"
    " alasan string, surat_dinsos int, surat_faskes int"
)
"""``gold/permintaan_reaktivasi`` as the update stage writes it (one row per request)."""
REAKTIVASI_SCHEMA = (
    "periode string, dtsen_individu_id string, dtsen_keluarga_id string, tanggal date,"
    " alasan string, status string, alasan_status string"
)
"""``gold/reaktivasi``: every request with its decision (:func:`decide_requests`)."""

DIAKTIFKAN = "DIAKTIFKAN"
DITOLAK = "DITOLAK"
# Refusal reasons (gold/reaktivasi.alasan_status), in the order they are checked.
TIDAK_DIKENAL = "TIDAK_DIKENAL"
BELUM_PERNAH_PBI = "BELUM_PERNAH_PBI"
MASIH_PESERTA = "MASIH_PESERTA"
TANPA_SURAT_DINSOS = "TANPA_SURAT_DINSOS"
TANPA_SURAT_FASKES = "TANPA_SURAT_FASKES"
# ... and TIDAK_LAYAK, the allocation's own code for an excluded unit.

KEPT_PERIODS = 2
"""A reactivation keeps the member for the period of reactivation and the next."""

FAMILY_KEY = "dtsen_keluarga_id"
PERSON_KEY = "dtsen_individu_id"


def _period_index(periode: Column) -> Column:
    """``YYYYQn`` as a count of quarters (``year * 4 + n - 1``), so periods subtract."""
    return F.substring(periode, 1, 4).cast("int") * 4 + F.substring(periode, 6, 1).cast("int") - 1


def _pbi_history(keputusan_lalu: DataFrame, periode: str, who: DataFrame) -> DataFrame:
    """Per person of ``who``, from earlier periods' PBI decisions: ``pernah`` (on the
    recipient list or selected in some earlier period) and ``terakhir`` (selected in the
    latest earlier period of the table, i.e. the previous allocation). Only the
    requesters' rows are aggregated: the work follows the requests, not the country."""
    earlier = keputusan_lalu.where((F.col("program") == PBI) & (F.col("periode") < periode))
    previous = earlier.agg(F.max("periode").alias("_sebelumnya"))
    return (
        earlier.join(who, PERSON_KEY, "left_semi")
        .crossJoin(F.broadcast(previous))
        .groupBy(PERSON_KEY)
        .agg(
            F.bool_or(
                F.coalesce("penerima", F.lit(False)) | F.coalesce("terpilih", F.lit(False))
            ).alias("pernah"),
            F.bool_or(
                F.coalesce("terpilih", F.lit(False)) & (F.col("periode") == F.col("_sebelumnya"))
            ).alias("terakhir"),
        )
    )


def decide_requests(
    periode: str, permintaan: DataFrame, kelayakan: DataFrame, keputusan_lalu: DataFrame
) -> DataFrame:
    """Grant or refuse each of this period's reactivation requests (``gold/reaktivasi``).

    A request is refused with the first reason that applies, in this order:

    1. ``TIDAK_DIKENAL``: the NIK matched nobody, or the person is not in this period's
       register (no person row in ``kelayakan``);
    2. ``BELUM_PERNAH_PBI``: never a PBI recipient (on the list or selected) in an
       earlier period: there is nothing to reactivate;
    3. ``MASIH_PESERTA``: selected for PBI in the previous period: not dropped;
    4. ``TANPA_SURAT_DINSOS`` / ``TANPA_SURAT_FASKES``: a letter is missing (null reads
       as missing);
    5. ``TIDAK_LAYAK``: excluded this period (deceased, civil servant, not found, ...):
       the letters override the desil, not the decree's negative list.

    Otherwise it is ``DIAKTIFKAN``, whatever the desil. Each request is judged on its
    own: two granted requests for one person reactivate them once.

    Args:
        periode: the period deciding; only its requests are judged.
        permintaan: ``gold/permintaan_reaktivasi``.
        kelayakan: this period's ``gold/kelayakan`` (its person rows are used).
        keputusan_lalu: ``gold/keputusan_program`` of earlier periods (``periode``,
            ``program``, ``dtsen_individu_id``, ``penerima``, ``terpilih``).

    Returns:
        The ``gold/reaktivasi`` columns (:data:`REAKTIVASI_SCHEMA`); ``dtsen_keluarga_id``
        is the request's, else the person's family this period; ``alasan_status`` is
        null for granted requests.
    """
    persons = kelayakan.where(F.col(PERSON_KEY).isNotNull()).select(
        PERSON_KEY, F.col(FAMILY_KEY).alias("_keluarga"), "layak", F.lit(True).alias("_dikenal")
    )
    letter_missing = {
        TANPA_SURAT_DINSOS: F.coalesce(F.col("surat_dinsos"), F.lit(0)) != 1,
        TANPA_SURAT_FASKES: F.coalesce(F.col("surat_faskes"), F.lit(0)) != 1,
    }
    refusal = (
        F.when(~F.coalesce("_dikenal", F.lit(False)), TIDAK_DIKENAL)
        .when(~F.coalesce("pernah", F.lit(False)), BELUM_PERNAH_PBI)
        .when(F.coalesce("terakhir", F.lit(False)), MASIH_PESERTA)
        .when(letter_missing[TANPA_SURAT_DINSOS], TANPA_SURAT_DINSOS)
        .when(letter_missing[TANPA_SURAT_FASKES], TANPA_SURAT_FASKES)
        .when(~F.coalesce("layak", F.lit(False)), TIDAK_LAYAK)
    )
    requests = permintaan.where(F.col("periode") == periode)
    history = _pbi_history(keputusan_lalu, periode, requests.select(PERSON_KEY))
    return (
        requests.join(persons, PERSON_KEY, "left")
        .join(history, PERSON_KEY, "left")
        .withColumn("alasan_status", refusal)
        .select(
            F.lit(periode).alias("periode"),
            PERSON_KEY,
            F.coalesce(FAMILY_KEY, "_keluarga").alias(FAMILY_KEY),
            "tanggal",
            "alasan",
            F.when(F.col("alasan_status").isNull(), DIAKTIFKAN).otherwise(DITOLAK).alias("status"),
            "alasan_status",
        )
    )


def reactivation_state(
    periode: str, reaktivasi: DataFrame, persons: DataFrame, found: DataFrame
) -> DataFrame:
    """Where each recent reactivation stands in ``periode`` (see the module docstring).

    A member's reactivation is their latest granted one (period R, and the earliest
    request date within R). "Ground-checked since the reactivation" means a
    ``DITEMUKAN`` visit of the member's current family in a period after R, or in R
    itself dated on or after the request (a visit without a date counts only from R+1).

    Args:
        periode: the period being allocated.
        reaktivasi: ``gold/reaktivasi`` of earlier periods and this one's decisions.
        persons: ``gold/individu`` (``dtsen_individu_id``, ``dtsen_keluarga_id``); a
            member no longer in the register has no state.
        found: :func:`ranking.groundcheck.found_visits` (``dtsen_keluarga_id``,
            ``periode_gc``, ``tanggal_gc``).

    Returns:
        One row per member reactivated in this period or the two before:
        ``dtsen_individu_id``, ``dtsen_keluarga_id``, ``periode_reaktivasi``,
        ``reaktivasi`` (kept this period), ``batas_reaktivasi`` (dropped at the
        deadline), ``penerima`` (a PBI recipient in the previous period through the
        reactivation, so normal rules treat them as a current recipient),
        ``jatuh_tempo`` (kept, and still waiting for the ground check that decides
        whether they stay).
    """
    granted = reaktivasi.where(
        (F.col("status") == DIAKTIFKAN)
        & F.col(PERSON_KEY).isNotNull()
        & (F.col("periode") <= periode)
    )
    latest = (
        granted.groupBy(PERSON_KEY, "periode")
        .agg(F.min("tanggal").alias("tanggal"))
        .groupBy(PERSON_KEY)
        .agg(F.max_by(F.struct("periode", "tanggal"), "periode").alias("r"))
        .select(
            PERSON_KEY,
            F.col("r.periode").alias("periode_reaktivasi"),
            F.col("r.tanggal").alias("tanggal_reaktivasi"),
        )
        .withColumn("_umur", _period_index(F.lit(periode)) - _period_index("periode_reaktivasi"))
        .where(F.col("_umur") <= KEPT_PERIODS)
        .join(persons.select(PERSON_KEY, FAMILY_KEY), PERSON_KEY)
    )
    since = (F.col("periode_gc") > F.col("periode_reaktivasi")) | (
        (F.col("periode_gc") == F.col("periode_reaktivasi"))
        & (F.col("tanggal_gc") >= F.col("tanggal_reaktivasi"))
    )
    checked = (
        latest.join(found, FAMILY_KEY)
        .where(since)
        .select(PERSON_KEY, F.lit(True).alias("_diperiksa"))
        .distinct()
    )
    umur, diperiksa = F.col("_umur"), F.coalesce("_diperiksa", F.lit(False))
    kept = umur < KEPT_PERIODS
    return latest.join(checked, PERSON_KEY, "left").select(
        PERSON_KEY,
        FAMILY_KEY,
        "periode_reaktivasi",
        kept.alias("reaktivasi"),
        ((umur == KEPT_PERIODS) & ~diperiksa).alias("batas_reaktivasi"),
        (umur >= 1).alias("penerima"),
        (kept & ~diperiksa).alias("jatuh_tempo"),
    )
