"""Administrative score adjustments: admin data that the proxy-means model cannot see.

The PMT score (``skor``: predicted log monthly per-capita expenditure, lower = poorer)
comes from survey-style variables a family reports itself. Administrative sources
(PLN electricity contracts, Samsat vehicle registrations, BPJS Ketenagakerjaan wages)
reveal wealth the family may not report, so configured rules shift the score upwards
(treated as better off) when a family-level signal is above a threshold.

Admin tables are keyed by NIK, hold NIKs that are not in DTSEN and several rows per
NIK. Every join here first aggregates the admin table to one row per NIK
(:func:`by_nik`), so no join multiplies persons or families.

The default rules the job configures (config, not code, holds them)::

    AdjustmentRule("PLN_DAYA_TINGGI", "daya_va_maks", above=2200, shift=0.25)
    AdjustmentRule("MOBIL_TERDAFTAR", "jumlah_mobil", above=0, shift=0.35)
    AdjustmentRule("UPAH_DI_ATAS_UMP", "upah_rasio_ump", above=1.0, shift=0.2)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from delivery.numbers import clean_number

__all__ = [
    "AdjustmentRule",
    "apply_adjustments",
    "by_nik",
    "family_signals",
    "with_wage_ratio",
]

FAMILY_KEY = "dtsen_keluarga_id"


def by_nik(admin: DataFrame, nik_col: str, *aggs: Column) -> DataFrame:
    """One row per NIK of an admin table: ``nik`` plus the given aggregates.

    NIKs are cleaned the way the linkage cleans them (spaces, dots and dashes removed)
    so that they compare equal to ``gold/individu.nik``; rows without a NIK are dropped,
    since they cannot be attributed to anyone.

    Args:
        admin: an admin table as delivered (bronze).
        nik_col: its NIK column (``nik``, ``NIK``, ``nik_pelanggan``, ``nik_pemilik``).
        *aggs: aggregate expressions over the table's columns, each aliased.

    Returns:
        ``nik`` and one column per aggregate, unique on ``nik``.
    """
    return (
        admin.withColumn("_nik", clean_number(F.col(nik_col)))
        .where(F.col("_nik").isNotNull())
        .groupBy(F.col("_nik").alias("nik"))
        .agg(*aggs)
    )


def with_wage_ratio(persons: DataFrame, bpjs: DataFrame, ump: DataFrame) -> DataFrame:
    """Add each person's formal wage as a multiple of their province's minimum wage.

    The wage is the highest ``upah_bulanan`` reported for the NIK (a worker with two
    employers has two rows; the largest is a lower bound of the income). The province
    is the first two digits of the person's own ``kode_wilayah``. When the UMP table
    repeats a province, its highest UMP is used, so a duplicate can only make the
    ratio smaller: a reference-table error never excludes anyone. Shared by the score
    adjustment and the ``UPAH_DI_ATAS_UMP`` exclusion, so both read the same number.

    Args:
        persons: ``gold/individu`` (at least ``nik`` and ``kode_wilayah``).
        bpjs: bronze BPJS Ketenagakerjaan (``nik``, ``upah_bulanan``).
        ump: ``referensi/ump`` (``kode_prov``, ``ump``).

    Returns:
        ``persons`` (same rows) plus ``upah_rasio_ump`` (double): null without a NIK, a
        BPJS wage, or a known non-zero UMP.
    """
    wages = by_nik(bpjs, "nik", F.max("upah_bulanan").alias("_upah"))
    ump_prov = ump.groupBy(F.col("kode_prov").alias("_prov")).agg(F.max("ump").alias("_ump"))
    return (
        persons.withColumn("_prov", F.substring("kode_wilayah", 1, 2))
        .join(wages, "nik", "left")
        .join(F.broadcast(ump_prov), "_prov", "left")
        # try_divide: a UMP of 0 gives null (no ratio) instead of an ANSI error.
        .withColumn("upah_rasio_ump", F.try_divide(F.col("_upah").cast("double"), F.col("_ump")))
        .select(*persons.columns, "upah_rasio_ump")
    )


def family_signals(
    persons: DataFrame, pln: DataFrame, samsat: DataFrame, bpjs: DataFrame, ump: DataFrame
) -> DataFrame:
    """Per-family admin signals for the adjustment rules.

    Every family with a member in ``persons`` gets exactly one row, signal or not.
    Signals come from members' NIKs (persons without a NIK contribute nothing):

    - ``daya_va_maks`` (int, null when no member is a PLN customer): the highest
      installed power among PLN contracts held by a member;
    - ``jumlah_mobil`` (long, 0 when none): cars (``jenis`` ``MOBIL``) registered to
      members. Identical Samsat rows are counted once: with no plate number in the
      delivery, a repeated row is indistinguishable from a duplicated delivery line.
      A NIK appearing on two members of one family (a linkage error) counts once;
    - ``upah_rasio_ump`` (double, null when no member has a BPJS wage): the highest
      member wage relative to the UMP of the member's province
      (:func:`with_wage_ratio`). Taking each member's own province rather than one
      province per family keeps the figure identical to the person-level exclusion;
      for the usual family living in one province it is exactly max wage / the
      family's UMP.

    Args:
        persons: ``gold/individu``.
        pln: bronze PLN (``nik_pelanggan``, ``daya_va``).
        samsat: bronze Samsat (``nik_pemilik``, ``jenis``, ``tahun_pembuatan``).
        bpjs: bronze BPJS Ketenagakerjaan (``nik``, ``upah_bulanan``).
        ump: ``referensi/ump`` (``kode_prov``, ``ump``).

    Returns:
        ``dtsen_keluarga_id``, ``daya_va_maks``, ``jumlah_mobil``, ``upah_rasio_ump``.
    """
    power = by_nik(pln, "nik_pelanggan", F.max("daya_va").alias("daya_va"))
    cars = by_nik(
        samsat.where(F.upper(F.trim("jenis")) == "MOBIL").distinct(),
        "nik_pemilik",
        F.count(F.lit(1)).alias("mobil"),
    )
    # Summed over the set of distinct (nik, mobil) pairs, so a NIK repeated within a
    # family is counted once without a second aggregation (and its shuffle).
    owners = F.collect_set(F.when(F.col("mobil").isNotNull(), F.struct("nik", "mobil")))
    return (
        with_wage_ratio(persons.select(FAMILY_KEY, "nik", "kode_wilayah"), bpjs, ump)
        .join(power, "nik", "left")
        .join(cars, "nik", "left")
        .groupBy(FAMILY_KEY)
        .agg(
            F.max("daya_va").alias("daya_va_maks"),
            F.aggregate(owners, F.lit(0).cast("long"), lambda n, x: n + x["mobil"]).alias(
                "jumlah_mobil"
            ),
            F.max("upah_rasio_ump").alias("upah_rasio_ump"),
        )
    )


@dataclass(frozen=True)
class AdjustmentRule:
    """One administrative adjustment.

    Attributes:
        code: reason code recorded in ``penyesuaian`` when the rule fires.
        signal: the signal column it reads (see :func:`family_signals`).
        above: the rule fires when the signal is strictly above this value; a null
            signal (no admin record) never fires.
        shift: added to ``skor`` when it fires; positive = treated as better off.
    """

    code: str
    signal: str
    above: float
    shift: float


def _check_rules(rules: Sequence[AdjustmentRule], available: list[str]) -> None:
    codes = [rule.code for rule in rules]
    repeated = sorted({code for code in codes if codes.count(code) > 1})
    if repeated:
        raise ValueError(f"adjustment rule codes must be unique; repeated: {repeated}")
    for rule in rules:
        if rule.signal not in available:
            raise ValueError(
                f"adjustment rule {rule.code!r} reads unknown signal {rule.signal!r}; "
                f"available signals: {available}"
            )


def apply_adjustments(
    scores: DataFrame, signals: DataFrame, rules: Sequence[AdjustmentRule]
) -> DataFrame:
    """Shift model scores by the rules that fire on each family's admin signals.

    Args:
        scores: one row per family with ``dtsen_keluarga_id`` and ``skor``; other
            columns are kept.
        signals: one row per family, ``dtsen_keluarga_id`` plus signal columns (the
            output of :func:`family_signals`). A family missing here fires no rule.
        rules: applied in this order; the order is the order of ``penyesuaian``.

    Returns:
        ``scores`` with ``skor`` = model score + the sum of fired shifts, and two added
        columns: ``skor_model`` (the model score before adjustment) and
        ``penyesuaian`` (array<string>: fired rule codes in rule order, empty when none).

    Raises:
        ValueError: a rule names a signal ``signals`` does not have (the message lists
            the ones it has), two rules share a code, or ``scores`` already carries
            ``skor_model`` (adjusting twice would stack the shifts).
    """
    available = [c for c in signals.columns if c != FAMILY_KEY]
    _check_rules(rules, available)
    if "skor_model" in scores.columns:
        raise ValueError("scores already have skor_model: adjustments were applied before")

    used = sorted({rule.signal for rule in rules})
    # Prefixed so a signal never collides with a column the scores already carry.
    renamed = signals.select(FAMILY_KEY, *[F.col(s).alias(f"_sig_{s}") for s in used])
    fired = {
        rule.code: F.coalesce(F.col(f"_sig_{rule.signal}") > F.lit(rule.above), F.lit(False))
        for rule in rules
    }
    shift = sum(
        (F.when(fired[rule.code], F.lit(rule.shift)).otherwise(F.lit(0.0)) for rule in rules),
        F.lit(0.0),
    )
    codes = F.array_compact(
        F.array(*[F.when(fired[rule.code], F.lit(rule.code)) for rule in rules])
    )
    return (
        scores.join(renamed, FAMILY_KEY, "left")
        .withColumn("skor_model", F.col("skor"))
        .withColumn("skor", F.col("skor_model") + shift)
        .withColumn("penyesuaian", codes.cast("array<string>"))
        .select(*scores.columns, "skor_model", "penyesuaian")
    )
