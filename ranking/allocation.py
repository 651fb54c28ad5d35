"""Program quotas and recipient selection (Kepmensos 79/HUK/2025, reference/domain.md §8).

Units: PKH and SEMBAKO allocate families (``unit_id`` = ``dtsen_keluarga_id``), PBI
allocates persons (``unit_id`` = ``dtsen_individu_id``). Which desil range counts as
"in desil" for a program (PKH 1-4, SEMBAKO and PBI 1-5) is the caller's business: it
arrives as the ``dalam_desil`` flag.

The flow for one program: :func:`scale_quota` (national quota to the population a
delivery covers), :func:`kab_quotas` (split by each kab/kota's share of the poor),
:func:`quota_status` (``gold/kuota``), :func:`allocate` (``gold/penerima_program`` and
the exits), :func:`changes` (the summary of entries, exits and targeting errors).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

__all__ = [
    "allocate",
    "changes",
    "kab_quotas",
    "quota_status",
    "scale_quota",
]

# Quota status (gold/kuota.status).
KURANG = "KURANG"
LEBIH = "LEBIH"
SESUAI = "SESUAI"

# Reasons for selection, by priority.
TETAP = "TETAP"
TETAP_BELUM_GROUNDCHECK = "TETAP_BELUM_GROUNDCHECK"
BARU_GROUNDCHECK = "BARU_GROUNDCHECK"
BARU_PERINGKAT = "BARU_PERINGKAT"
# Exit reasons of current recipients who are not selected.
TIDAK_LAYAK = "TIDAK_LAYAK"
DI_LUAR_DESIL = "DI_LUAR_DESIL"
LEBIH_KUOTA = "LEBIH_KUOTA"
TIDAK_DI_DTSEN = "TIDAK_DI_DTSEN"
# Directions in change summaries.
MASUK = "MASUK"
KELUAR = "KELUAR"
GALAT = "GALAT"
INKLUSI = "INKLUSI"
EKSKLUSI = "EKSKLUSI"

_FLAGS = ("dalam_desil", "layak", "penerima", "sudah_groundcheck")


def scale_quota(national_quota: int, delivery_population: int, national_population: int) -> int:
    """The share of a national quota that belongs to a delivery covering part of the nation.

    A synthetic or regional delivery holds a fraction of the population; the national
    quota (PKH 10 M families, Sembako 18.3 M families, PBI 96 M persons) is scaled by
    that fraction. Rounded half up in integer arithmetic, so the result does not
    depend on floating-point error.

    Args:
        national_quota: the program's national quota, in units.
        delivery_population: the population the delivery covers (same unit as below).
        national_population: the national population.

    Returns:
        ``round(national_quota * delivery_population / national_population)``.

    Raises:
        ValueError: a negative quota or population, or a national population of zero.
    """
    if national_population <= 0:
        raise ValueError(f"national_population must be positive, got {national_population}")
    if national_quota < 0 or delivery_population < 0:
        raise ValueError(
            f"national_quota and delivery_population must not be negative, got "
            f"{national_quota} and {delivery_population}"
        )
    numerator = national_quota * delivery_population
    return (2 * numerator + national_population) // (2 * national_population)


def kab_quotas(poor: DataFrame, quota: int) -> DataFrame:
    """Split a quota over kab/kota by their share of the nation's poor (Hamilton method).

    Each kab first gets the whole part of ``share × quota``; the places left over go
    one each to the kabs with the largest remainders, so the quotas sum exactly to
    ``quota``. Equal remainders go to the lower ``kode_kab`` first (deterministic).
    All arithmetic is on longs (no floating point): remainders compare exactly.

    A ``kode_kab`` listed twice keeps its highest count (a repeated reference row, not
    two regions); a null count reads as 0 and rows without ``kode_kab`` are dropped.

    Args:
        poor: ``referensi/kemiskinan`` (``kode_kab``, ``penduduk_miskin``).
        quota: the quota to split (already scaled with :func:`scale_quota`).

    Returns:
        ``kode_kab``, ``kuota`` (long), one row per kab.

    Raises:
        ValueError: a negative quota. A table whose counts are all zero fails in Spark
            with a division by zero when the result is computed.
    """
    if quota < 0:
        raise ValueError(f"quota must not be negative, got {quota}")
    # Global windows, deliberately unpartitioned: the reference table has one row per
    # kab/kota (about 514), and the largest-remainder rule compares every kab with every
    # other. The sums need no order (an ordered frame would make them running sums);
    # the remainder ranking ends on kode_kab, so it is a strict total order.
    everything = Window.partitionBy()
    by_remainder = Window.orderBy(F.desc("sisa"), F.asc("kode_kab"))
    return (
        poor.where(F.col("kode_kab").isNotNull())
        .groupBy("kode_kab")
        .agg(F.max(F.coalesce("penduduk_miskin", F.lit(0))).cast("long").alias("miskin"))
        .withColumn("total", F.sum("miskin").over(everything))
        # miskin * quota = dasar * total + sisa, in exact long arithmetic.
        .withColumn("dasar", F.expr(f"miskin * {quota}L div total"))
        .withColumn("sisa", F.expr(f"miskin * {quota}L % total"))
        .withColumn("sisa_kuota", F.lit(quota) - F.sum("dasar").over(everything))
        .select(
            "kode_kab",
            (
                F.col("dasar")
                + F.when(F.row_number().over(by_remainder) <= F.col("sisa_kuota"), 1).otherwise(0)
            )
            .cast("long")
            .alias("kuota"),
        )
    )


def quota_status(quotas: DataFrame, current: DataFrame) -> DataFrame:
    """Compare each kab's quota with its current recipients (``gold/kuota`` without
    ``periode`` and ``program``).

    Args:
        quotas: ``kode_kab``, ``kuota`` (from :func:`kab_quotas`).
        current: ``kode_kab``, ``penerima_saat_ini`` (current recipients per kab; rows
            repeating a kab are added up).

    Returns:
        ``kode_kab``, ``kuota`` (long), ``penerima_saat_ini`` (long), ``status``:
        ``KURANG`` (fewer recipients than quota), ``LEBIH`` (more) or ``SESUAI``. A kab
        missing on either side counts 0 there.
    """
    now = current.groupBy("kode_kab").agg(
        F.sum("penerima_saat_ini").cast("long").alias("penerima_saat_ini")
    )
    zero = F.lit(0).cast("long")
    return (
        quotas.select("kode_kab", F.col("kuota").cast("long").alias("kuota"))
        .join(now, "kode_kab", "full")
        .select(
            "kode_kab",
            F.coalesce("kuota", zero).alias("kuota"),
            F.coalesce("penerima_saat_ini", zero).alias("penerima_saat_ini"),
        )
        .withColumn(
            "status",
            F.when(F.col("penerima_saat_ini") < F.col("kuota"), KURANG)
            .when(F.col("penerima_saat_ini") > F.col("kuota"), LEBIH)
            .otherwise(SESUAI),
        )
    )


def _flag(name: str) -> Column:
    """A boolean input column where null (unknown) reads as false."""
    return F.coalesce(F.col(name), F.lit(False))


def allocate(candidates: DataFrame, quotas: DataFrame) -> DataFrame:
    """Select a program's recipients per kab/kota within its quota.

    Priorities (reference/domain.md §8), all of them only for ``layak`` units:

    1. ``TETAP``: current recipients in the desil range keep their aid;
    2. ``TETAP_BELUM_GROUNDCHECK``: current recipients outside the desil range keep it
       until a ground check has confirmed their situation;
    3. ``BARU_GROUNDCHECK``: non-recipients in the desil range already ground-checked;
    4. ``BARU_PERINGKAT``: the other non-recipients in the desil range, by rank.

    The decree's second filling priority, the waiting list approved by the regional
    head, has no data source in the input contract and is not applied.

    Within each kab, units are taken in order of (``prioritas``, ``persentil``,
    ``unit_id``) until the kab's ``kuota`` is reached: a kab under quota takes in new
    units in priority order, a kab over quota drops its last (richest) current
    recipients. ``row_number`` rather than ``rank``: the quota counts units, so two
    units tied on ``persentil`` must not both take the last place; ``unit_id`` is the
    unique tie-breaker that makes the choice reproducible. A null ``persentil`` (no
    score) sorts last.

    Args:
        candidates: one row per unit: ``unit_id`` (string, unique), ``kode_kab``,
            ``persentil`` (double, national percentile, lower = poorer),
            ``dalam_desil``, ``layak``, ``penerima``, ``sudah_groundcheck`` (booleans;
            a null reads as false). Other columns are kept.
        quotas: ``kode_kab``, ``kuota``; a kab without a row has quota 0.

    Returns:
        Every candidate, its flags with nulls read as false, plus ``terpilih``
        (boolean), ``prioritas`` (int 1-4, null when the unit cannot be selected) and
        ``alasan`` (string): the priority's reason for selected units; for current
        recipients not selected the exit reason ``TIDAK_LAYAK`` (not eligible),
        ``DI_LUAR_DESIL`` (outside the desil range and ground-checked) or
        ``LEBIH_KUOTA`` (would be kept but the kab is over quota); null otherwise.
    """
    dalam_desil, layak, penerima, checked = (F.col(f) for f in _FLAGS)
    prioritas = (
        F.when(penerima & layak & dalam_desil, 1)
        .when(penerima & layak & ~checked, 2)
        .when(~penerima & layak & dalam_desil & checked, 3)
        .when(~penerima & layak & dalam_desil, 4)
    )
    taken = Window.partitionBy("kode_kab").orderBy(
        F.asc_nulls_last("prioritas"), F.asc_nulls_last("persentil"), F.asc("unit_id")
    )
    kuota = quotas.select("kode_kab", F.col("kuota").cast("long").alias("_kuota"))
    selected_reason = (
        F.when(F.col("prioritas") == 1, TETAP)
        .when(F.col("prioritas") == 2, TETAP_BELUM_GROUNDCHECK)
        .when(F.col("prioritas") == 3, BARU_GROUNDCHECK)
        .otherwise(BARU_PERINGKAT)
    )
    return (
        candidates.withColumns({f: _flag(f) for f in _FLAGS})
        .withColumn("prioritas", prioritas.cast("int"))
        .join(F.broadcast(kuota), "kode_kab", "left")
        .withColumn(
            "terpilih",
            F.col("prioritas").isNotNull()
            & (F.row_number().over(taken) <= F.coalesce("_kuota", F.lit(0))),
        )
        .withColumn(
            "alasan",
            F.when(F.col("terpilih"), selected_reason)
            .when(penerima & ~layak, TIDAK_LAYAK)
            .when(penerima & ~dalam_desil & checked, DI_LUAR_DESIL)
            .when(penerima, LEBIH_KUOTA),
        )
        .select(*candidates.columns, "terpilih", "prioritas", "alasan")
    )


def _counts(df: DataFrame, arah: str, alasan: Column) -> DataFrame:
    return df.groupBy(F.lit(arah).alias("arah"), alasan.alias("alasan")).agg(
        F.count(F.lit(1)).alias("jumlah")
    )


def changes(decisions: DataFrame, unknown_recipients: DataFrame | None = None) -> DataFrame:
    """Entries, exits and targeting errors of one program's allocation.

    Args:
        decisions: the output of :func:`allocate`.
        unknown_recipients: optionally, one row per current recipient whose NIK is not
            in DTSEN (e.g. ``program/penerima`` anti-joined to ``gold/individu``); they
            cannot be candidates, so they leave the program.

    Returns:
        ``arah``, ``alasan``, ``jumlah`` (long):

        - ``MASUK`` per reason: selected units that are not current recipients;
        - ``KELUAR`` per reason: current recipients not selected, plus, when
          ``unknown_recipients`` is given, ``TIDAK_DI_DTSEN`` (its row count, 0 too);
        - ``GALAT`` ``INKLUSI``: current recipients who are not both layak and in the
          desil range (inclusion error), and ``GALAT`` ``EKSKLUSI``: layak units in the
          desil range not receiving now (exclusion error). Both always present;
          recipients outside DTSEN are not in them (they are ``TIDAK_DI_DTSEN``).
    """
    flags = decisions.withColumns({f: _flag(f) for f in _FLAGS})
    target = F.col("layak") & F.col("dalam_desil")
    penerima = F.col("penerima")
    selected = F.coalesce(F.col("terpilih"), F.lit(False))
    parts = [
        _counts(flags.where(selected & ~penerima), MASUK, F.col("alasan")),
        _counts(flags.where(~selected & penerima), KELUAR, F.col("alasan")),
    ]
    if unknown_recipients is not None:
        parts.append(
            unknown_recipients.agg(
                F.lit(KELUAR).alias("arah"),
                F.lit(TIDAK_DI_DTSEN).alias("alasan"),
                F.count(F.lit(1)).alias("jumlah"),
            )
        )

    def _tally(condition: Column) -> Column:
        return F.coalesce(F.sum(F.when(condition, 1).otherwise(0)), F.lit(0)).cast("long")

    errors = flags.agg(
        _tally(penerima & ~target).alias(INKLUSI), _tally(target & ~penerima).alias(EKSKLUSI)
    ).select(
        F.inline(
            F.array(
                *[
                    F.struct(
                        F.lit(GALAT).alias("arah"),
                        F.lit(name).alias("alasan"),
                        F.col(name).alias("jumlah"),
                    )
                    for name in (INKLUSI, EKSKLUSI)
                ]
            )
        )
    )
    result = errors
    for part in parts:
        result = result.unionByName(part)
    return result.select("arah", "alasan", F.col("jumlah").cast("long"))
