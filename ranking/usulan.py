"""Proposals (``gold/usulan``): the regent's approved waiting list, and what awaits a visit.

A proposal (usulan) names a family for assistance, through the village's formal path or
the Cek Bansos app. The update stage writes one row per proposal and period, with the
family it resolved to and a status. A proposal stays relevant after its period: a
family on the approved waiting list waits until it is served, and a proposal waiting
for a ground check waits until one is done. So every rule here reads each proposal's
latest row up to the period.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from linkage.fieldwork import DITOLAK

__all__ = ["USULAN_SCHEMA", "latest_proposals", "waiting_list"]

USULAN_SCHEMA = (
    "periode string, id_usulan string, tanggal date, jalur string, dtsen_keluarga_id string,"
    " status string, alasan string, disahkan_kepala_daerah boolean, program string"
)
"""``gold/usulan`` as the update stage writes it (one row per proposal and period)."""


FAMILY_KEY = "dtsen_keluarga_id"


def latest_proposals(usulan: DataFrame, periode: str) -> DataFrame:
    """Each proposal's row of its latest period up to and including ``periode``.

    ``id_usulan`` is the key within one update delivery, so (``id_usulan``,
    ``periode``) is unique and the latest period picks one row.

    Returns:
        ``usulan``'s columns, one row per ``id_usulan``.
    """
    columns = [c for c in usulan.columns if c != "id_usulan"]
    return (
        usulan.where(F.col("periode") <= periode)
        .groupBy("id_usulan")
        .agg(F.max_by(F.struct(*columns), "periode").alias("u"))
        .select("id_usulan", "u.*")
    )


def waiting_list(usulan: DataFrame, periode: str, program: str) -> DataFrame:
    """Families on the regent's approved waiting list for ``program`` (the decree's second
    filling priority, reference/domain.md §8).

    A proposal counts when its latest row is approved (``disahkan_kepala_daerah``), is
    for this program or for none in particular (null ``program``), names a family, and
    was not rejected (``DITOLAK``). A proposal still waiting for its ground check counts
    too, but its family is not ranked yet, so it is no candidate until verified.

    Returns:
        ``dtsen_keluarga_id``, distinct.
    """
    latest = latest_proposals(usulan, periode)
    approved = (
        F.coalesce(F.col("disahkan_kepala_daerah"), F.lit(False))
        & (F.col("program").isNull() | (F.col("program") == program))
        & F.col(FAMILY_KEY).isNotNull()
        & ~F.coalesce(F.col("status") == DITOLAK, F.lit(False))
    )
    return latest.where(approved).select(FAMILY_KEY).distinct()
