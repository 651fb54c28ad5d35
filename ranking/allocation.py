"""Program quotas and recipient selection (Kepmensos 79/HUK/2025, reference/domain.md §8).

Units: PKH and SEMBAKO allocate families (``unit_id`` = ``dtsen_keluarga_id``), PBI
allocates persons (``unit_id`` = ``dtsen_individu_id``). Which desil range counts as
"in desil" for a program (PKH 1-4, SEMBAKO and PBI 1-5) is the caller's business: it
arrives as the ``dalam_desil`` flag.

The flow for one program: :func:`scale_quota` (national quota to the population a
delivery covers), :func:`kab_quotas` (split by each kab/kota's share of the poor),
:func:`quota_status` (``gold/kuota``), :func:`allocate` (``gold/penerima_program`` and
the exits), :func:`ranking.redistribution.redistribute` (places a kab/kota cannot fill,
given to the best candidates elsewhere), :func:`changes` (the summary of entries, exits,
targeting errors and redistributed places).
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

# Reasons for selection; a unit's ``prioritas`` is its reason's place in PRIORITIES.
REAKTIVASI = "REAKTIVASI"
TETAP = "TETAP"
TETAP_BELUM_GROUNDCHECK = "TETAP_BELUM_GROUNDCHECK"
BARU_GROUNDCHECK = "BARU_GROUNDCHECK"
BARU_DAFTAR_TUNGGU = "BARU_DAFTAR_TUNGGU"
BARU_PERINGKAT = "BARU_PERINGKAT"
PRIORITIES = (
    REAKTIVASI,
    TETAP,
    TETAP_BELUM_GROUNDCHECK,
    BARU_GROUNDCHECK,
    BARU_DAFTAR_TUNGGU,
    BARU_PERINGKAT,
)
"""Selection reasons, most urgent first: ``prioritas`` 1 is ``REAKTIVASI``, 6 is
``BARU_PERINGKAT`` (see :func:`allocate`)."""
REDISTRIBUSI_NASIONAL = "REDISTRIBUSI_NASIONAL"
"""A unit selected by the national pass, on a place its own kab/kota could not fill."""
# Exit reasons of current recipients who are not selected.
TIDAK_LAYAK = "TIDAK_LAYAK"
BATAS_REAKTIVASI = "BATAS_REAKTIVASI"
DI_LUAR_DESIL = "DI_LUAR_DESIL"
LEBIH_KUOTA = "LEBIH_KUOTA"
TIDAK_DI_DTSEN = "TIDAK_DI_DTSEN"
# Directions in change summaries.
MASUK = "MASUK"
KELUAR = "KELUAR"
GALAT = "GALAT"
INKLUSI = "INKLUSI"
EKSKLUSI = "EKSKLUSI"
REDISTRIBUSI = "REDISTRIBUSI"

_FLAGS = ("dalam_desil", "layak", "penerima", "sudah_groundcheck")
_UPDATE_FLAGS = ("daftar_tunggu", "reaktivasi", "batas_reaktivasi")
"""Flags only an update period sets (see :func:`ranking.candidates.with_update_flags`);
a candidates frame without them reads them as false."""


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

    Priorities (reference/domain.md §8, updates.md item 7), all of them only for
    ``layak`` units:

    1. ``REAKTIVASI``: PBI-JK members reactivated this period or the last
       (:mod:`ranking.reactivation`), whatever their desil;
    2. ``TETAP``: current recipients in the desil range keep their aid;
    3. ``TETAP_BELUM_GROUNDCHECK``: current recipients outside the desil range keep it
       until a ground check has confirmed their situation;
    4. ``BARU_GROUNDCHECK``: non-recipients in the desil range already ground-checked
       (the decree's first filling priority);
    5. ``BARU_DAFTAR_TUNGGU``: non-recipients on the regent's approved waiting list (its
       second); the decree bounds the first and third by the desil range, not this one;
    6. ``BARU_PERINGKAT``: the other non-recipients in the desil range, by rank (its third).

    Within each kab, units are taken in order of (``prioritas``, ``persentil``,
    ``unit_id``) until the kab's ``kuota`` is reached: a kab under quota takes in new
    units in priority order, a kab over quota drops its last (richest) current
    recipients. ``row_number`` rather than ``rank``: the quota counts units, so two
    units tied on ``persentil`` must not both take the last place; ``unit_id`` is the
    unique tie-breaker that makes the choice reproducible. A null ``persentil`` (no
    score) sorts last.

    Reactivated members are selected even beyond the quota (a reactivation is granted
    for a medical need, not rationed), but they count against it: being first in the
    order, they take the kab's first places, and the other units fill what is left.
    A reactivated member past the deadline (``batas_reaktivasi``) cannot be selected.

    Args:
        candidates: one row per unit: ``unit_id`` (string, unique), ``kode_kab``,
            ``persentil`` (double, national percentile, lower = poorer),
            ``dalam_desil``, ``layak``, ``penerima``, ``sudah_groundcheck`` (booleans;
            a null reads as false) and, optionally (absent reads as false),
            ``daftar_tunggu``, ``reaktivasi``, ``batas_reaktivasi``. Other columns are
            kept.
        quotas: ``kode_kab``, ``kuota``; a kab without a row has quota 0.

    Returns:
        Every candidate, its flags with nulls read as false, plus ``terpilih``
        (boolean), ``prioritas`` (int 1-6, null when the unit cannot be selected) and
        ``alasan`` (string): the priority's reason for selected units; for current
        recipients not selected the exit reason ``TIDAK_LAYAK`` (not eligible),
        ``BATAS_REAKTIVASI`` (reactivated, not ground-checked within two periods),
        ``DI_LUAR_DESIL`` (outside the desil range and ground-checked) or
        ``LEBIH_KUOTA`` (would be kept but the kab is over quota); null otherwise.
    """
    present = set(candidates.columns)
    flags = {f: _flag(f) for f in _FLAGS} | {
        f: _flag(f) if f in present else F.lit(False) for f in _UPDATE_FLAGS
    }
    dalam_desil, layak, penerima, checked, tunggu, reaktivasi, batas = (
        F.col(f) for f in (*_FLAGS, *_UPDATE_FLAGS)
    )
    conditions = {
        REAKTIVASI: reaktivasi & layak,
        TETAP: penerima & layak & dalam_desil,
        TETAP_BELUM_GROUNDCHECK: penerima & layak & ~checked,
        BARU_GROUNDCHECK: ~penerima & layak & dalam_desil & checked,
        BARU_DAFTAR_TUNGGU: ~penerima & layak & tunggu,
        BARU_PERINGKAT: ~penerima & layak & dalam_desil,
    }
    # A unit past its reactivation deadline takes no priority; otherwise its first
    # matching reason's place in PRIORITIES (1-based), which also names the reason.
    prioritas = F.when(batas, F.lit(None).cast("int"))
    for number, reason in enumerate(PRIORITIES, start=1):
        prioritas = prioritas.when(conditions[reason], number)
    selected_reason = F.element_at(F.array(*map(F.lit, PRIORITIES)), F.col("prioritas"))
    reactivated = F.col("prioritas") == PRIORITIES.index(REAKTIVASI) + 1
    taken = Window.partitionBy("kode_kab").orderBy(
        F.asc_nulls_last("prioritas"), F.asc_nulls_last("persentil"), F.asc("unit_id")
    )
    kuota = quotas.select("kode_kab", F.col("kuota").cast("long").alias("_kuota"))
    within_quota = F.row_number().over(taken) <= F.coalesce("_kuota", F.lit(0))
    return (
        candidates.withColumns(flags)
        .withColumn("prioritas", prioritas.cast("int"))
        .join(F.broadcast(kuota), "kode_kab", "left")
        .withColumn(
            "terpilih",
            F.col("prioritas").isNotNull() & (within_quota | reactivated),
        )
        .withColumn(
            "alasan",
            F.when(F.col("terpilih"), selected_reason)
            .when(penerima & ~layak, TIDAK_LAYAK)
            .when(batas, BATAS_REAKTIVASI)
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
    """Entries, exits, targeting errors and redistributed places of one program's allocation.

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
          recipients outside DTSEN are not in them (they are ``TIDAK_DI_DTSEN``);
        - ``REDISTRIBUSI`` ``REDISTRIBUSI_NASIONAL``: units selected by the national
          pass, current recipients among them (always present). The new ones among them
          are also ``MASUK`` ``REDISTRIBUSI_NASIONAL``.
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

    # Counts that are always present, 0 too: one aggregate, one row per count.
    tallies = {
        (GALAT, INKLUSI): penerima & ~target,
        (GALAT, EKSKLUSI): target & ~penerima,
        (REDISTRIBUSI, REDISTRIBUSI_NASIONAL): selected
        & (F.col("alasan") == REDISTRIBUSI_NASIONAL),
    }
    errors = flags.agg(
        F.array(
            *[
                F.struct(
                    F.lit(arah).alias("arah"),
                    F.lit(alasan).alias("alasan"),
                    _tally(condition).alias("jumlah"),
                )
                for (arah, alasan), condition in tallies.items()
            ]
        ).alias("tally")
    ).select(F.inline("tally"))
    result = errors
    for part in parts:
        result = result.unionByName(part)
    return result.select("arah", "alasan", F.col("jumlah").cast("long"))
