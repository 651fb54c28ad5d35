"""The ID registry: IDs are minted once, then looked up; every change is an event.

A person's ``dtsen_individu_id`` is minted when a cluster first appears, as a keyed hash
of its founding record (an active Dukcapil record before any registry record, see
:data:`URUTAN`); a family's ``dtsen_keluarga_id`` from its KK (or its founding registry
family). From then on ``gold/link_individu`` / ``gold/link_keluarga`` are the registry:
an update looks a record's ID up there and never recomputes it, so a DTKS record that
joins a person later, or a KK number that changes, leaves the ID as it was.

``gold/riwayat_id`` is the log: ``BARU`` when an ID is minted (the first period logs
every ID, so the oldest of two IDs is always known), ``GABUNG`` when new evidence
merges two (the older survives, ``id_lama`` points to it), ``PISAH`` when a KK split
gives the leaving members a new family, ``PENSIUN`` when an ID ends without a
successor. ``sumber_bukti`` names the evidence by source and method, never by a NIK.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from linkage.ids import stable_id

BARU = "BARU"
GABUNG = "GABUNG"
PISAH = "PISAH"
PENSIUN = "PENSIUN"
RIWAYAT_COLUMNS = ("periode", "entitas", "id_lama", "id_baru", "peristiwa", "sumber_bukti")
FOUNDING_ORDER = ("dukcapil", "regsosek", "p3ke", "dtks", "groundcheck", "usulan")
"""Which source's record founds a person: the civil registry first, proposals last."""


def urutan(sumber: Column, anchor: Column) -> Column:
    """Founding precedence of a record (0 = an active Dukcapil record)."""
    order = F.array_position(F.array(*[F.lit(s) for s in FOUNDING_ORDER]), sumber)
    return F.when(anchor, F.lit(0)).otherwise(order).cast("int")


def person_id(founder_uid: Column, salt: str) -> Column:
    """A new person's ID, from its founding record's ``uid`` (minted once)."""
    return stable_id("P", founder_uid, salt)


def family_id(founder_key: Column, salt: str) -> Column:
    """A new family's ID, from ``dukcapil:<KK>`` or its founding family's key."""
    return stable_id("K", founder_key, salt)


def events(
    frame: DataFrame, periode: str, entitas: str, peristiwa: str, id_lama: str | None = None
) -> DataFrame:
    """``gold/riwayat_id`` rows from ``frame`` (``id_baru``, ``sumber_bukti`` and, for
    events with a predecessor, the column named by ``id_lama``)."""
    lama = F.col(id_lama) if id_lama else F.lit(None).cast("string")
    return frame.select(
        F.lit(periode).alias("periode"),
        F.lit(entitas).alias("entitas"),
        lama.alias("id_lama"),
        F.col("id_baru").cast("string"),
        F.lit(peristiwa).alias("peristiwa"),
        F.col("sumber_bukti").cast("string"),
    )


def founded(link_individu: DataFrame, link_keluarga: DataFrame, periode: str) -> DataFrame:
    """The first period's log: one ``BARU`` per person and per family ID.

    The evidence named is the founding source (persons: ``pendiri``'s source; families:
    ``dukcapil`` for a KK, else the registry that founded it).
    """
    persons = link_individu.groupBy(F.col("dtsen_individu_id").alias("id_baru")).agg(
        F.min(F.struct(urutan(F.col("sumber"), F.col("anchor")), "sumber"))
        .getField("sumber")
        .alias("sumber_bukti")
    )
    families = link_keluarga.groupBy(F.col("dtsen_keluarga_id").alias("id_baru")).agg(
        F.min(F.struct(urutan(F.col("sumber"), F.lit(False)), "sumber"))
        .getField("sumber")
        .alias("sumber_bukti")
    )
    return events(persons, periode, "individu", BARU).unionByName(
        events(families, periode, "keluarga", BARU)
    )


def with_birth(ids: DataFrame, riwayat: DataFrame, entitas: str) -> DataFrame:
    """``ids`` (column ``id``) with ``_lahir``: the period its ``BARU`` event was logged."""
    born = riwayat.where((F.col("entitas") == entitas) & (F.col("peristiwa") == BARU)).select(
        F.col("id_baru").alias("id"), F.col("periode").alias("_lahir")
    )
    return ids.join(born, "id", "left")
