"""One quarterly update applied to the register, as DataFrame-in, DataFrame-out steps.

new Dukcapil extract -> diff against the register -> new records (births, new NIKs,
ground-check members, proposal members) linked with the saved model
(:mod:`linkage.incremental`) -> IDs kept, minted or merged -> new KKs as splits, moves
or new families (:mod:`linkage.family_events`) -> visits, proposals and objections
attached (:mod:`linkage.fieldwork`) -> golden persons and families again, with the
ground checks' observations on top.

The caller (``jobs/update.py``) reads the register as the previous period left it and
writes what :func:`apply_update` returns; nothing here touches storage.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from delivery.variables import DTKS_INDICATORS, FAMILY_VARIABLES
from dtsen.progress import Progress, format_steps
from linkage import (
    cluster,
    family,
    family_events,
    fieldwork,
    golden,
    incremental,
    padan,
    registry,
)
from linkage.ids import stable_id
from linkage.pipeline import (
    LinkParams,
    decoded_records,
    dtks_families,
    person_family,
    raw_records,
    with_member_counts,
)
from linkage.records import PersonSource

REGISTRY_SOURCES = ("regsosek", "p3ke", "dtks")


@dataclass(frozen=True)
class Register:
    """The register as the previous period left it."""

    rekaman: DataFrame
    """``silver/rekaman``: every linked record, standardised, with its person ID."""
    tf_nama: DataFrame
    link_keluarga: DataFrame
    riwayat: DataFrame
    individu: DataFrame
    """``gold/individu`` (each person's family last period)."""
    ranked: DataFrame
    """``dtsen_keluarga_id`` of the families ranked last period."""
    regsosek_keluarga: DataFrame
    p3ke_keluarga: DataFrame
    dtks: DataFrame
    saved_model: dict[str, Any]


@dataclass(frozen=True)
class Delivery:
    """One update delivery's bronze tables (``updates.md``)."""

    periode: str
    sources: dict[str, PersonSource]
    """``dukcapil``, ``groundcheck``, ``usulan`` person mappings."""
    persons: dict[str, DataFrame]
    families: dict[str, DataFrame]
    wilayah: DataFrame
    sanggahan: DataFrame
    reaktivasi: DataFrame


@dataclass
class UpdateResult:
    tables: dict[str, DataFrame]
    """Full replacements, ``<layer>/<name>`` -> frame."""
    upserts: dict[str, tuple[DataFrame, list[str]]]
    """Rows merged into existing tables by key."""
    period_tables: dict[str, DataFrame]
    """Tables partitioned by ``periode``: this period's rows."""
    figures: dict[str, Any]
    cached: list[DataFrame]

    def release(self) -> None:
        for frame in self.cached:
            frame.unpersist()


def _count(frame: DataFrame, column: str) -> dict[str, int]:
    return {
        r[column]: r["n"] for r in frame.groupBy(column).agg(F.count(F.lit(1)).alias("n")).collect()
    }


def _null_family_rows(families: DataFrame, ids: DataFrame) -> DataFrame:
    """``gold/keluarga`` rows with only the ID (and an empty provenance map) set."""
    columns = [
        F.col("dtsen_keluarga_id")
        if name == "dtsen_keluarga_id"
        else F.create_map().cast(families.schema[name].dataType).alias(name)
        if name == "sumber_variabel"
        else F.lit(None).cast(families.schema[name].dataType).alias(name)
        for name in families.columns
    ]
    return ids.select(*columns)


def _new_records(delivery: Delivery, register: DataFrame, params: LinkParams):
    """The extract's fresh records (padan set), the diff, the extract as it is now, the
    new records (not yet in the register) and their NIK edges.

    Only records the register has not seen raw are decoded: at national scale the
    extract's standardisation, not its comparison, is what a full re-read costs.
    """
    raw = raw_records(delivery.sources, delivery.persons, delivery.families)
    decoded = decoded_records(
        incremental.unseen(register, raw), delivery.wilayah, params.reference_year
    ).persist(StorageLevel.MEMORY_AND_DISK)
    fresh = padan.padan(decoded.where(F.col("sumber") == "dukcapil"))
    fresh = (
        fresh.withColumn("anchor", F.col("status_dukcapil") != "GANDA")
        .withColumn("terselesaikan", F.col("anchor"))
        .checkpoint()
    )
    diff = incremental.diff_dukcapil(
        register, raw.where(F.col("sumber") == "dukcapil"), fresh
    ).persist(StorageLevel.MEMORY_AND_DISK)
    births = fresh.join(diff.where(F.col("perubahan") == incremental.BARU), "uid", "left_semi")
    # Re-applying an update finds its own records already registered: none is new again.
    typed = decoded.where(F.col("sumber") != "dukcapil").join(
        register.select("uid"), "uid", "left_anti"
    )
    extract = incremental.current_extract(register, fresh, diff)
    checked, edges = incremental.nik_edges(typed, extract)
    resolved = edges.select(F.col("uid_l").alias("uid")).distinct().withColumn("_r", F.lit(True))
    checked = (
        checked.join(resolved, "uid", "left")
        .withColumn("anchor", F.lit(False))
        .withColumn("terselesaikan", F.coalesce("_r", F.lit(False)))
        .drop("_r")
    )
    new = births.unionByName(checked.select(*births.columns)).checkpoint()
    return decoded, fresh, diff, new, edges


def _edges(nik_pairs: DataFrame, scored: DataFrame) -> DataFrame:
    """The update's person edges: its NIK pairs, and the pairs Splink scored above the
    match threshold, in ``cluster``'s edge shape."""
    return (
        nik_pairs.select(
            "uid_l",
            "uid_r",
            F.lit(1.0).alias("match_probability"),
            F.lit(cluster.NIK).alias("metode"),
        )
        .unionByName(
            scored.select(
                F.col("unique_id_l").alias("uid_l"),
                F.col("unique_id_r").alias("uid_r"),
                "match_probability",
                F.lit(cluster.PROBABILISTIC).alias("metode"),
            )
        )
        .checkpoint()
    )


def apply_update(
    db_api: Any, register: Register, delivery: Delivery, params: LinkParams
) -> UpdateResult:
    """Apply ``delivery`` to ``register``; returns every table the update writes."""
    periode, salt = delivery.periode, params.id_salt
    progress = Progress(delivery.wilayah.sparkSession, "update")
    with progress.step("new records and the Dukcapil diff") as rows:
        decoded, fresh, diff, new, nik_pairs = _new_records(delivery, register.rekaman, params)
        refreshed = incremental.refreshed_register(register.rekaman, fresh, diff).checkpoint()
        rows.n = new.count()
    with progress.step("scoring") as rows:
        edges = _edges(
            nik_pairs,
            incremental.score(
                db_api,
                register.saved_model,
                refreshed,
                new,
                register.tf_nama,
                params.match_threshold,
            ),
        )
        rows.n = edges.count()
    with progress.step("resolution"):
        assigned, merged, person_log = incremental.resolve(
            db_api, new, refreshed, edges, register.riwayat, periode, salt
        )
        merged = merged.persist(StorageLevel.MEMORY_AND_DISK)
        survivor = merged.select(
            F.col("id_lama").alias("dtsen_individu_id"), F.col("id_baru").alias("_s")
        )

        def remap(frame: DataFrame) -> DataFrame:
            return (
                frame.join(F.broadcast(survivor), "dtsen_individu_id", "left")
                .withColumn("dtsen_individu_id", F.coalesce("_s", "dtsen_individu_id"))
                .drop("_s")
            )

        added = new.join(assigned, "uid")
        rekaman = remap(refreshed).unionByName(added.select(*refreshed.columns)).checkpoint()
    with progress.step("families and field work"):
        previous_family = remap(register.individu.select("dtsen_individu_id", "dtsen_keluarga_id"))
        previous_family = previous_family.dropDuplicates(["dtsen_individu_id"])
        anchors = rekaman.where(F.col("anchor") & (F.col("sumber") == "dukcapil"))
        kk_rows, family_log = family_events.new_kk_families(
            register.link_keluarga, anchors, previous_family, periode, salt
        )
        link_keluarga = register.link_keluarga.unionByName(kk_rows).persist(
            StorageLevel.MEMORY_AND_DISK
        )
        kk_families = link_keluarga.where(F.col("sumber") == "dukcapil").select(
            "id_keluarga", "dtsen_keluarga_id"
        )
        base_family = person_family(rekaman, link_keluarga)

        def members(sumber: str, key: str) -> DataFrame:
            return rekaman.where(F.col("sumber") == sumber).select(
                F.col("id_keluarga").alias(key), "id_record", "dtsen_individu_id", "hubungan"
            )

        visits = delivery.families["groundcheck"]
        usulan, usulan_log = fieldwork.proposals(
            delivery.families["usulan"],
            members("usulan", "id_usulan"),
            base_family,
            kk_families,
            register.ranked,
            visits,
            periode,
            salt,
        )
        usulan = usulan.checkpoint()
        gc_status = delivery.persons["groundcheck"].select(
            F.col("id_anggota_gc").cast("string").alias("id_record"), "status"
        )
        known = link_keluarga.select("dtsen_keluarga_id").unionByName(
            usulan.select("dtsen_keluarga_id")
        )
        groundcheck = fieldwork.visits_attached(
            visits,
            members("groundcheck", "id_gc").join(gc_status, "id_record"),
            base_family,
            kk_families,
            known,
            usulan,
            periode,
        ).checkpoint()
        link_keluarga = (
            reduce(
                DataFrame.unionByName,
                [
                    link_keluarga,
                    usulan.select(
                        F.lit("usulan").alias("sumber"),
                        F.col("id_usulan").alias("id_keluarga"),
                        "dtsen_keluarga_id",
                    ),
                    groundcheck.where(F.col("dtsen_keluarga_id").isNotNull()).select(
                        F.lit("groundcheck").alias("sumber"),
                        F.col("id_gc").alias("id_keluarga"),
                        "dtsen_keluarga_id",
                    ),
                ],
            )
            .dropDuplicates(["sumber", "id_keluarga"])
            .checkpoint()
        )
        families_of = person_family(rekaman, link_keluarga).checkpoint()

    # Checkpoints above cut the lineage: every later step is analysed against these
    # frames, and with the whole update behind them Spark's analysis took minutes.
    # The register's families: the registries' (with relasi), those split off this
    # quarter (inheriting their origin's values), and proposals a visit verified.
    with progress.step("golden records") as rows:
        registry_rows = link_keluarga.where(F.col("sumber").isin(*REGISTRY_SOURCES))
        relasi = family.relasi(registry_rows)
        splits = family_log.where(F.col("peristiwa") == registry.PISAH).select("id_lama", "id_baru")
        verified = usulan.where(F.col("status") == fieldwork.TERVERIFIKASI).select(
            "dtsen_keluarga_id"
        )
        in_register = (
            relasi.select("dtsen_keluarga_id")
            .unionByName(splits.select(F.col("id_baru").alias("dtsen_keluarga_id")))
            .unionByName(verified)
            .distinct()
        )
        persons = golden.golden_persons(rekaman, families_of)
        typed = F.col("di_regsosek") | F.col("di_p3ke") | F.col("di_dtks")
        gold_persons = (
            persons.join(in_register, "dtsen_keluarga_id", "left_semi")
            .unionByName(persons.where(typed).join(in_register, "dtsen_keluarga_id", "left_anti"))
            .checkpoint()
        )
        registry_families = golden.golden_families(
            with_member_counts(
                link_keluarga.where(F.col("sumber").isin("dukcapil", *REGISTRY_SOURCES)), rekaman
            ),
            relasi,
            gold_persons,
            register.regsosek_keluarga,
            register.p3ke_keluarga,
            dtks_families(register.dtks),
            list(FAMILY_VARIABLES),
            list(DTKS_INDICATORS),
        )
        added_families = family_events.inherited(registry_families, splits).unionByName(
            _null_family_rows(
                registry_families, verified.join(relasi, "dtsen_keluarga_id", "left_anti")
            )
        )
        observed = fieldwork.survivorship(
            registry_families.unionByName(added_families), groundcheck, visits
        )
        gold_families = _recount(observed, gold_persons, usulan, kk_families).checkpoint()
        rows.n = gold_families.count()

    nik_index = _nik_index(rekaman, families_of)
    listed = (
        rekaman.where(F.col("sumber") != "dukcapil")
        .join(link_keluarga, ["sumber", "id_keluarga"])
        .select("dtsen_individu_id", "dtsen_keluarga_id")
    )
    sanggahan = fieldwork.objections(delivery.sanggahan, nik_index, listed, periode)
    reaktivasi = fieldwork.reactivation_requests(
        delivery.reaktivasi.withColumn("nik", F.col("nik").cast("string")),
        nik_index.select("nik", "dtsen_individu_id", "dtsen_keluarga_id"),
        periode,
    )
    riwayat = person_log.unionByName(family_log).unionByName(usulan_log)
    changed_uids = (
        diff.where(F.col("perubahan") == incremental.DIHAPUS)
        .select("uid")
        .unionByName(fresh.select("uid"))
        .unionByName(new.select("uid"))
        .unionByName(
            refreshed.join(F.broadcast(survivor), "dtsen_individu_id", "left_semi").select("uid")
        )
        .distinct()
    )
    touched = rekaman.join(changed_uids, "uid", "left_semi").checkpoint()
    n_records = register.rekaman.count()
    moved = refreshed.join(F.broadcast(survivor), "dtsen_individu_id", "left_semi").count()
    figures = {
        "periode": periode,
        "rekaman_terdaftar": n_records,
        "rekaman_id_berubah": moved,
        "dukcapil": _count(diff, "perubahan"),
        "rekaman_baru": _count(new, "sumber"),
        "riwayat": [
            r.asDict()
            for r in riwayat.groupBy("entitas", "peristiwa")
            .agg(F.count(F.lit(1)).alias("n"))
            .orderBy("entitas", "peristiwa")
            .collect()
        ],
        "pasangan_dinilai": edges.where(F.col("metode") == cluster.PROBABILISTIC).count(),
        "usulan": _count(usulan, "status"),
        "groundcheck": _count(
            groundcheck.withColumn(
                "hasil",
                F.when(F.col("dtsen_keluarga_id").isNull(), "TIDAK_TERHUBUNG").otherwise(
                    F.col("hasil")
                ),
            ),
            "hasil",
        ),
        "sanggahan": _count(sanggahan, "status"),
        "keluarga": gold_families.count(),
        "steps": progress.seconds,
    }
    return UpdateResult(
        tables={
            "gold/link_keluarga": link_keluarga,
            "gold/individu": gold_persons,
            "gold/keluarga": gold_families,
            "gold/relasi": family.relasi_table(gold_families),
        },
        upserts={
            "silver/rekaman": (touched, ["uid"]),
            "gold/link_individu": (
                touched.select(
                    "sumber",
                    "id_record",
                    "dtsen_individu_id",
                    "match_probability",
                    "metode",
                    stable_id("R", F.col("uid"), salt).alias("pseudonim"),
                ),
                ["sumber", "id_record"],
            ),
        },
        period_tables={
            "gold/riwayat_id": riwayat,
            "gold/groundcheck": groundcheck,
            "gold/usulan": usulan,
            "gold/sanggahan": sanggahan,
            "gold/permintaan_reaktivasi": reaktivasi,
        },
        figures=figures,
        cached=[decoded, diff, merged],
    )


def _recount(
    families: DataFrame, persons: DataFrame, usulan: DataFrame, kk_families: DataFrame
) -> DataFrame:
    """Member counts, KK and region from the members as they are now."""
    size = persons.groupBy("dtsen_keluarga_id").agg(
        F.count(F.lit(1)).alias("_n"), F.mode("kode_wilayah").alias("_wil")
    )
    kk = kk_families.groupBy("dtsen_keluarga_id").agg(F.min("id_keluarga").alias("_kk"))
    return (
        families.join(size, "dtsen_keluarga_id", "left")
        .join(kk, "dtsen_keluarga_id", "left")
        .withColumn("jumlah_anggota", F.coalesce("_n", F.lit(0)).cast("int"))
        .withColumn("kode_wilayah", F.coalesce("_wil", "kode_wilayah"))
        .withColumn("no_kk", F.coalesce("no_kk", "_kk"))
        .select(*families.columns)
    )


def _nik_index(rekaman: DataFrame, families_of: DataFrame) -> DataFrame:
    """One row per valid NIK: its person (the Dukcapil record's first), family, KK and
    Dukcapil status."""
    valid = rekaman.where(F.col("nik").isNotNull() & F.col("nik_alasan").isNull())
    first = valid.groupBy("nik").agg(
        F.min(
            F.struct(
                F.when(F.col("sumber") == "dukcapil", 0).otherwise(1).alias("_o"),
                "dtsen_individu_id",
                F.when(F.col("sumber") == "dukcapil", F.col("id_keluarga")).alias("kk"),
                F.when(F.col("sumber") == "dukcapil", F.col("status_dukcapil")).alias(
                    "status_dukcapil"
                ),
            )
        ).alias("_p")
    )
    return first.select(
        "nik",
        F.col("_p.dtsen_individu_id").alias("dtsen_individu_id"),
        F.col("_p.kk").alias("kk"),
        F.col("_p.status_dukcapil").alias("status_dukcapil"),
    ).join(families_of, "dtsen_individu_id", "left")


def format_figures(figures: dict[str, Any]) -> str:
    """The update's accounting: ingest, the Dukcapil diff, IDs, field work, the register."""

    def counts(name: str) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(figures[name].items(), key=str)) or "none"

    kept = 1 - figures["rekaman_id_berubah"] / max(figures["rekaman_terdaftar"], 1)
    lines = [
        f"update {figures['sebelumnya']} -> {figures['periode']}",
        figures["ingest"],
        f"dukcapil extract against the register: {counts('dukcapil')}",
        f"new records linked: {counts('rekaman_baru')}; Splink links {figures['pasangan_dinilai']}",
        f"register records keeping their person ID: {kept:.4%} "
        f"({figures['rekaman_terdaftar'] - figures['rekaman_id_berubah']} of "
        f"{figures['rekaman_terdaftar']})",
        "ID events (gold/riwayat_id):",
        *[f"  {r['entitas']:<9} {r['peristiwa']:<8} {r['n']:>8}" for r in figures["riwayat"]],
        f"ground checks: {counts('groundcheck')}",
        f"proposals: {counts('usulan')}",
        f"objections: {counts('sanggahan')}",
        f"families in the register: {figures['keluarga']}",
        format_steps(figures["steps"]),
    ]
    return "\n".join(lines)
