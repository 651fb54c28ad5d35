"""The ground-check queue (``gold/antrian_groundcheck``): which families to visit next, and why.

A ground check is the only way a family's situation is confirmed, and facilitators are
few (about 33,600 nationally), so the queue says which families need a visit and
ranks them. One row per family, with every reason that applies (updates.md item 6), by
urgency:

1. ``REAKTIVASI_JATUH_TEMPO``: a PBI member reactivated this period or the last and not
   ground-checked since; without a visit they drop at the deadline;
2. ``SANGGAHAN``: an objection (``TIDAK_LAYAK``, ``SUDAH_MENINGGAL``, ``BUKAN_ANGGOTA``)
   on a member that the update could not settle from Dukcapil (``status`` ``DIPROSES``;
   a death Dukcapil confirms, ``TERKONFIRMASI``, or a member it places on another KK,
   ``DITERAPKAN``, needs no visit), not yet followed by a visit;
3. ``PENERIMA_DI_LUAR_DESIL``: an eligible recipient outside the program's desil range,
   never ground-checked, who keeps the aid only until a visit confirms it;
4. ``USULAN_BELUM_VERIFIKASI``: a proposal waiting for its verifying visit
   (``BARU_MENUNGGU_GC``).

A deadline first, then a citizen's complaint about a named person, then the inclusion
errors the program pays for now, then the proposals that may fix exclusion errors.

``prioritas`` = ``(urgency - 1) * 11 + desil``, from 1 (most urgent) to 44: the most
urgent reason of the family, then its national desil this period, poorest first (a
family without a desil, e.g. a proposal not yet ranked, counts as 11). Equal values are
equally urgent; the queue is a set of families, not an ordered list, so no global
ordering is computed (that would need one partition for the country).

A visit settles what it was for: an objection or a waiting proposal is settled by any
visit of the family in the objection's or proposal's period or later (whatever the
outcome: found, the family's data are fresh; not found, moved or refused, the family is
excluded), and a proposal also by a visit carrying its ``id_usulan``. The two other
reasons are settled only by a ``DITEMUKAN`` visit, and already are in their inputs: a
recipient with one is no longer "not ground-checked", a reactivation with one since is
no longer waiting. So a family found this period is not queued for what its visit settled.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from linkage.fieldwork import DIPROSES
from linkage.fieldwork import MENUNGGU as BARU_MENUNGGU_GC
from ranking.groundcheck import attached_visits
from ranking.usulan import latest_proposals

__all__ = ["REASONS", "SANGGAHAN_SCHEMA", "antrian_groundcheck"]

SANGGAHAN_SCHEMA = (
    "periode string, id_sanggahan string, jenis string, dtsen_individu_id string,"
    " dtsen_keluarga_id string, status string, tindak_lanjut string"
)
"""``gold/sanggahan`` as the update stage writes it (one row per objection)."""
OBJECTIONS = ("TIDAK_LAYAK", "BUKAN_ANGGOTA", "SUDAH_MENINGGAL")

REAKTIVASI_JATUH_TEMPO = "REAKTIVASI_JATUH_TEMPO"
SANGGAHAN = "SANGGAHAN"
PENERIMA_DI_LUAR_DESIL = "PENERIMA_DI_LUAR_DESIL"
USULAN_BELUM_VERIFIKASI = "USULAN_BELUM_VERIFIKASI"
REASONS = (REAKTIVASI_JATUH_TEMPO, SANGGAHAN, PENERIMA_DI_LUAR_DESIL, USULAN_BELUM_VERIFIKASI)
"""Queue reasons, most urgent first (urgency 1 to 4)."""
UNRANKED_DESIL = 11
"""The desil a family without one counts as in ``prioritas``."""

FAMILY_KEY = "dtsen_keluarga_id"


def _last_visit(groundcheck: DataFrame, periode: str) -> DataFrame:
    """``dtsen_keluarga_id``, ``_kunjungan``: the period of the family's latest visit."""
    return (
        attached_visits(groundcheck, periode)
        .groupBy(FAMILY_KEY)
        .agg(F.max("periode").alias("_kunjungan"))
    )


def _not_visited_since(rows: DataFrame, visits: DataFrame) -> DataFrame:
    """The rows of ``rows`` (``dtsen_keluarga_id``, ``periode``) whose family has had no
    visit in their period or later."""
    return rows.join(visits, FAMILY_KEY, "left").where(
        F.col("_kunjungan").isNull() | (F.col("_kunjungan") < F.col("periode"))
    )


def antrian_groundcheck(
    periode: str,
    keputusan: DataFrame,
    peringkat: DataFrame,
    groundcheck: DataFrame,
    usulan: DataFrame,
    sanggahan: DataFrame,
    due: DataFrame,
) -> DataFrame:
    """The families to ground-check after ``periode``'s allocation, with reasons and priority.

    Args:
        periode: the period allocated.
        keputusan: this period's ``gold/keputusan_program``, every program
            (``dtsen_keluarga_id``, ``penerima``, ``layak``, ``dalam_desil``,
            ``sudah_groundcheck``).
        peringkat: this period's ``gold/peringkat`` (``dtsen_keluarga_id``,
            ``desil_nasional``).
        groundcheck: ``gold/groundcheck`` up to the period.
        usulan: ``gold/usulan`` up to the period.
        sanggahan: ``gold/sanggahan`` up to the period (an objection not followed by a
            visit stays on the queue in later periods; only ``DIPROSES`` ones count).
        due: ``dtsen_keluarga_id`` of the reactivated members still waiting for their
            visit (:func:`ranking.reactivation.reactivation_state`'s ``jatuh_tempo``).

    Returns:
        ``periode``, ``dtsen_keluarga_id``, ``alasan`` (array<string>, sorted, distinct),
        ``prioritas`` (int, 1 = most urgent), one row per family with a reason.
    """
    visits = _last_visit(groundcheck, periode)
    objections = _not_visited_since(
        sanggahan.where(
            (F.col("periode") <= periode)
            & F.col("jenis").isin(*OBJECTIONS)
            & (F.col("status") == DIPROSES)
            & F.col(FAMILY_KEY).isNotNull()
        ),
        visits,
    )
    verified = groundcheck.where(
        (F.col("periode") <= periode) & F.col("id_usulan").isNotNull()
    ).select("id_usulan", F.lit(True).alias("_diverifikasi"))
    proposals = _not_visited_since(
        latest_proposals(usulan, periode).where(
            (F.col("status") == BARU_MENUNGGU_GC) & F.col(FAMILY_KEY).isNotNull()
        ),
        visits,
    ).join(verified.distinct(), "id_usulan", "left_anti")
    outside = keputusan.where(
        F.col("penerima") & F.col("layak") & ~F.col("dalam_desil") & ~F.col("sudah_groundcheck")
    )
    reasons = [
        due.select(FAMILY_KEY, F.lit(REAKTIVASI_JATUH_TEMPO).alias("alasan")),
        objections.select(FAMILY_KEY, F.lit(SANGGAHAN).alias("alasan")),
        outside.select(FAMILY_KEY, F.lit(PENERIMA_DI_LUAR_DESIL).alias("alasan")),
        proposals.select(FAMILY_KEY, F.lit(USULAN_BELUM_VERIFIKASI).alias("alasan")),
    ]
    stacked = reasons[0]
    for part in reasons[1:]:
        stacked = stacked.unionByName(part)
    urgency = F.array_position(F.array(*map(F.lit, REASONS)), F.col("alasan"))
    desil = F.coalesce(F.col("desil_nasional"), F.lit(UNRANKED_DESIL))
    return (
        stacked.where(F.col(FAMILY_KEY).isNotNull())
        .groupBy(FAMILY_KEY)
        .agg(
            F.array_sort(F.collect_set("alasan")).alias("alasan"),
            F.min(urgency).alias("_urgensi"),
        )
        .join(peringkat.select(FAMILY_KEY, "desil_nasional"), FAMILY_KEY, "left")
        .select(
            F.lit(periode).alias("periode"),
            FAMILY_KEY,
            "alasan",
            ((F.col("_urgensi") - 1) * UNRANKED_DESIL + desil).cast("int").alias("prioritas"),
        )
    )
