"""An update's person linkage: only the new records are scored, against the register.

The register is ``silver/rekaman`` (every record linked so far, standardised, with its
ID). An update brings a fresh Dukcapil extract and the records typed in the field
(ground checks, proposals). Steps:

1. :func:`unseen` and :func:`diff_dukcapil`: only the extract's records whose raw row
   the register has not seen (``sidik_mentah``) are standardised and decoded; they are
   compared with the register's Dukcapil records by NIK: ``BARU`` NIKs (births, new
   registrations) are new records; ``BERUBAH`` ones (KK, status, region, address or
   identity changed) keep their ID and replace their row; ``DIHAPUS`` ones (no longer
   extracted) keep their row, no longer an anchor.
2. :func:`nik_edges`: the deterministic pass for the new records, against the Dukcapil
   records holding their NIKs only (a semi-join, not a pass over the register).
3. Splink with the saved model: ``predict_between(register, new)`` and
   ``predict_within(new)``, term frequencies the register's (``silver/tf_nama``).
4. :func:`resolve`: connected components over the new records and the *existing
   persons* they touch (one node per existing ID), with the anchor rule of
   :mod:`linkage.cluster`. A component with no existing person mints a new ID; with
   one, its records take that ID; with several, new evidence has joined them: the
   oldest ID survives and the others are retired (``GABUNG``).

Nothing already linked is re-clustered except through step 4's merges, so the work and
the pairs scored grow with the update.
"""

from __future__ import annotations

import logging
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from linkage import cluster, model, padan, registry
from linkage.records import fingerprint

DIFF_COLUMNS = (
    "id_keluarga",
    "status_dukcapil",
    "kode_wilayah",
    "alamat",
    "rt",
    "rw",
    "hubungan",
    "nama",
    "tanggal_lahir",
    "jenis_kelamin",
)
"""What makes a Dukcapil record ``BERUBAH``: its KK, status, place or identity."""
BARU, BERUBAH, DIHAPUS, SAMA = "BARU", "BERUBAH", "DIHAPUS", "SAMA"
EXISTING = -1
"""``urutan`` of an existing person's node: it outranks every new record as founder."""


def unseen(register: DataFrame, raw: DataFrame) -> DataFrame:
    """The raw records the register has not seen as they are: new ``uid``s, and records
    whose ``sidik_mentah`` (raw fingerprint) changed since they were linked.

    Only these are standardised and decoded; a Dukcapil extract is mostly unchanged
    from one quarter to the next.
    """
    return raw.join(register.select("uid", "sidik_mentah"), ["uid", "sidik_mentah"], "left_anti")


def diff_dukcapil(register: DataFrame, raw: DataFrame, fresh: DataFrame) -> DataFrame:
    """Every NIK of either side with ``perubahan`` (BARU, BERUBAH, DIHAPUS, SAMA).

    Args:
        register: ``silver/rekaman`` (only its Dukcapil rows are read).
        raw: the new extract's raw Dukcapil records (only ``uid`` is read).
        fresh: the decoded extract records the register had not seen (:func:`unseen`);
            every other record of the extract is raw-identical to its register row.

    Returns:
        ``uid`` and ``perubahan``. A record whose raw row changed only outside
        :data:`DIFF_COLUMNS` (spacing, case, a welfare field) is ``SAMA``.
    """
    old = register.where(F.col("sumber") == "dukcapil").select(
        "uid", fingerprint(DIFF_COLUMNS).alias("_old")
    )
    present = raw.select("uid", F.lit(True).alias("_ada"))
    new = fresh.select("uid", fingerprint(DIFF_COLUMNS).alias("_new"))
    joined = old.join(present, "uid", "full").join(new, "uid", "left")
    return joined.select(
        "uid",
        F.when(F.col("_old").isNull(), BARU)
        .when(F.col("_ada").isNull(), DIHAPUS)
        .when(F.col("_new").isNotNull() & (F.col("_old") != F.col("_new")), BERUBAH)
        .otherwise(SAMA)
        .alias("perubahan"),
    )


def current_extract(register: DataFrame, fresh: DataFrame, diff: DataFrame) -> DataFrame:
    """The Dukcapil extract as it is now, in ``fresh``'s columns: the fresh records and
    the register's rows of the unchanged ones (neither re-decoded nor retired)."""
    kept = (
        register.where(F.col("sumber") == "dukcapil")
        .join(diff.where(F.col("perubahan") == DIHAPUS), "uid", "left_anti")
        .join(fresh.select("uid"), "uid", "left_anti")
    )
    return fresh.unionByName(kept.select(*fresh.columns))


def refreshed_register(register: DataFrame, fresh: DataFrame, diff: DataFrame) -> DataFrame:
    """The register's rows with re-read Dukcapil records replaced by the fresh ones
    (``BERUBAH``, and ``SAMA`` records whose raw row changed, so their ``sidik_mentah``
    is current), keeping their ID and linkage fields; ``DIHAPUS`` ones no longer
    anchors."""
    gone = diff.where(F.col("perubahan") == DIHAPUS).select("uid", F.lit(True).alias("_gone"))
    kept_fields = ("dtsen_individu_id", "match_probability", "metode")
    replacement = fresh.join(register.select("uid", *kept_fields), "uid")
    replacement = replacement.withColumn("anchor", F.col("status_dukcapil") != "GANDA").withColumn(
        "terselesaikan", F.col("anchor")
    )
    rest = register.join(fresh.select("uid"), "uid", "left_anti").join(gone, "uid", "left")
    # A retired record forgets its raw fingerprint: should its NIK return, even unchanged,
    # it is read again and becomes an anchor again.
    rest = rest.withColumns(
        {
            "anchor": F.col("anchor") & F.col("_gone").isNull(),
            "sidik_mentah": F.when(F.col("_gone").isNull(), F.col("sidik_mentah")),
        }
    ).drop("_gone")
    return rest.unionByName(replacement.select(*rest.columns))


def nik_edges(new: DataFrame, extract: DataFrame) -> tuple[DataFrame, DataFrame]:
    """The new typed records padan-checked, and their trusted-NIK edges.

    Only the Dukcapil records holding one of the new records' NIKs take part, so this is
    a semi-join against the extract, not a pass over the register.
    """
    typed = new.where(F.col("sumber") != "dukcapil")
    niks = typed.where(F.col("nik_alasan").isNull()).select("nik").distinct()
    reference = extract.join(F.broadcast(niks), "nik", "left_semi")
    checked = padan.padan(
        typed.unionByName(reference.drop("status_padan", "uid_dukcapil"), allowMissingColumns=True)
    )
    return checked.where(F.col("sumber") != "dukcapil"), padan.nik_edges(checked)


def score(
    db_api: Any,
    saved: dict[str, Any],
    register: DataFrame,
    new: DataFrame,
    tf_nama: DataFrame,
    threshold: float,
) -> DataFrame:
    """Scored pairs (``unique_id_l``, ``unique_id_r``, ``match_probability``) at or above
    ``threshold``: register x new, and new x new, with the saved model.

    The exact-name level's term frequencies are the register's (``tf_nama``), registered
    with Splink, not the frequencies within the update's handful of names; a name the
    register never saw gets no adjustment.
    """
    from splink import Linker

    # Checkpointed: Splink's SQL is analysed against these views, and with the update's
    # lineage behind them Spark's analysis of predict_between ran for many minutes.
    existing = db_api.register(model.model_input(register).checkpoint())
    incoming = db_api.register(model.model_input(new).checkpoint())
    linker = Linker(incoming, saved, log_level=logging.INFO)
    linker.table_management.register_term_frequency_lookup(db_api.register(tf_nama), "nama")
    between = linker.inference.predict_between(
        existing, incoming, threshold_match_probability=threshold
    ).as_spark_dataframe()
    within = linker.inference.predict_within(
        incoming, threshold_match_probability=threshold
    ).as_spark_dataframe()
    columns = ("unique_id_l", "unique_id_r", "match_probability")
    return between.select(*columns).unionByName(within.select(*columns))


def resolve(
    db_api: Any,
    new: DataFrame,
    register: DataFrame,
    edges: DataFrame,
    riwayat: DataFrame,
    periode: str,
    salt: str,
) -> tuple[DataFrame, DataFrame, DataFrame]:
    """IDs for the new records, merges among existing IDs, and their log rows.

    Args:
        new: the new records (``uid``, ``sumber``, ``anchor``).
        register: ``silver/rekaman`` refreshed (``uid``, ``dtsen_individu_id``, ``anchor``).
        edges: ``uid_l``, ``uid_r``, ``match_probability``, ``metode``; every edge has at
            least one new record, the other end may be a register record.
        riwayat: ``gold/riwayat_id`` so far (when each existing ID was born).

    Returns:
        ``assigned`` (``uid``, ``dtsen_individu_id``, ``match_probability``,
        ``metode``) for the new records; ``merged`` (``id_lama``, ``id_baru``) for the
        retired IDs; ``events``: the ``gold/riwayat_id`` rows (``BARU``, ``GABUNG``).
    """
    owner = register.select(F.col("uid").alias("_uid"), F.col("dtsen_individu_id").alias("_id"))

    def as_node(side: str) -> DataFrame:
        return F.coalesce(F.col(f"_id_{side}"), F.col(side))

    ends = (
        edges.join(owner.withColumnsRenamed({"_uid": "uid_l", "_id": "_id_uid_l"}), "uid_l", "left")
        .join(owner.withColumnsRenamed({"_uid": "uid_r", "_id": "_id_uid_r"}), "uid_r", "left")
        .select(
            as_node("uid_l").alias("uid_l"),
            as_node("uid_r").alias("uid_r"),
            "match_probability",
            "metode",
        )
    )
    touched = (
        ends.select(F.col("uid_l").alias("id"))
        .unionByName(ends.select(F.col("uid_r").alias("id")))
        .join(register.select(F.col("dtsen_individu_id").alias("id")).distinct(), "id", "left_semi")
    )
    anchored = register.groupBy(F.col("dtsen_individu_id").alias("id")).agg(
        F.max(F.col("anchor").cast("int")).alias("_a")
    )
    existing_nodes = (
        touched.distinct()
        .join(anchored, "id")
        .select(
            F.col("id").alias("unique_id"),
            (F.col("_a") == 1).alias("anchor"),
            F.lit(EXISTING).alias("urutan"),
        )
    )
    new_nodes = new.select(
        F.col("uid").alias("unique_id"),
        "anchor",
        registry.urutan(F.col("sumber"), F.col("anchor")).alias("urutan"),
    )
    nodes = new_nodes.unionByName(existing_nodes)
    clustered = cluster.cluster_persons(db_api, nodes, ends).join(
        nodes.select("unique_id", "urutan"), "unique_id"
    )
    members = clustered.where(F.col("urutan") == EXISTING).select(
        "pendiri", F.col("unique_id").alias("id")
    )
    born = registry.with_birth(members, riwayat, "individu")
    survivor = born.groupBy("pendiri").agg(
        F.min(F.struct(F.coalesce("_lahir", F.lit("9999Q9")), F.col("id")))
        .getField("id")
        .alias("_survivor")
    )
    evidence = (
        clustered.where(F.col("urutan") != EXISTING)
        .groupBy("pendiri")
        .agg(
            F.array_join(F.array_sort(F.collect_set(F.split("unique_id", ":")[0])), "+").alias(
                "sumber_bukti"
            )
        )
    )
    decided = clustered.join(survivor, "pendiri", "left").withColumn(
        "dtsen_individu_id",
        F.coalesce("_survivor", registry.person_id(F.col("pendiri"), salt)),
    )
    assigned = decided.where(F.col("urutan") != EXISTING).select(
        F.col("unique_id").alias("uid"), "dtsen_individu_id", "match_probability", "metode"
    )
    merged = decided.where(
        (F.col("urutan") == EXISTING) & (F.col("unique_id") != F.col("dtsen_individu_id"))
    ).select(F.col("unique_id").alias("id_lama"), F.col("dtsen_individu_id").alias("id_baru"))
    minted = (
        decided.where(F.col("_survivor").isNull())
        .select(F.col("dtsen_individu_id").alias("id_baru"), "pendiri")
        .distinct()
        .join(evidence, "pendiri")
    )
    gabung = merged.join(
        decided.select(F.col("dtsen_individu_id").alias("id_baru"), "pendiri").distinct(),
        "id_baru",
    ).join(evidence, "pendiri")
    log = registry.events(minted, periode, "individu", registry.BARU).unionByName(
        registry.events(gabung, periode, "individu", registry.GABUNG, id_lama="id_lama")
    )
    return assigned, merged, log
