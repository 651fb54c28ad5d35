"""What came in from the field, attached to the register: visits, proposals, objections.

Every row gets an outcome (nothing is dropped): a ground-check visit is attached to a
family by its members' linked IDs (the head's vote twice), else its KK, else the family
ID the field app printed if the register knows it, else the proposal it verified; a
proposal is ``SUDAH_ADA`` when its members' family was ranked last period, otherwise a
new family waiting for (or verified by) a ground check; an objection is tied to its
target's person and family. Decisions on eligibility and the queue are the ranking's.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from delivery.variables import FAMILY_VARIABLES
from linkage import registry

# The codes the update's tables carry; the ranking reads them from here.
DITEMUKAN = "DITEMUKAN"
SUDAH_ADA, MENUNGGU, TERVERIFIKASI, DITOLAK = (
    "SUDAH_ADA",
    "BARU_MENUNGGU_GC",
    "BARU_TERVERIFIKASI",
    "DITOLAK",
)
DIPROSES = "DIPROSES"
"""``gold/sanggahan.status`` of an objection left for a ground check to settle."""


def _head_weight() -> Column:
    return F.when(F.col("hubungan") == 1, 2).otherwise(1)


def family_by_members(members: DataFrame, person_family: DataFrame, key: str) -> DataFrame:
    """``key``, ``dtsen_keluarga_id``: the family most of a record's linked members are in.

    Args:
        members: ``key``, ``dtsen_individu_id``, ``hubungan`` (one row per member).
        person_family: ``dtsen_individu_id``, ``dtsen_keluarga_id``.
    """
    votes = (
        members.join(person_family, "dtsen_individu_id")
        .groupBy(key, "dtsen_keluarga_id")
        .agg(F.sum(_head_weight()).alias("_votes"))
    )
    best = Window.partitionBy(key).orderBy(F.desc("_votes"), "dtsen_keluarga_id")
    return (
        votes.withColumn("_r", F.row_number().over(best))
        .where("_r = 1")
        .select(key, "dtsen_keluarga_id")
    )


def _by_kk(frame: DataFrame, key: str, kk_families: DataFrame) -> DataFrame:
    return (
        frame.select(key, F.col("no_kk").alias("id_keluarga"))
        .join(kk_families, "id_keluarga")
        .select(key, F.col("dtsen_keluarga_id").alias("_kk_family"))
    )


def proposals(
    usulan: DataFrame,
    members: DataFrame,
    person_family: DataFrame,
    kk_families: DataFrame,
    ranked_families: DataFrame,
    visits: DataFrame,
    periode: str,
    salt: str,
) -> tuple[DataFrame, DataFrame]:
    """``gold/usulan`` rows and the ``BARU`` log of families they add.

    Args:
        usulan: ``usulan/keluarga`` (``id_usulan``, ``tanggal``, ``jalur``, ``no_kk``,
            ``disahkan_kepala_daerah``, ``program``).
        members: linked proposal members (``id_usulan``, ``dtsen_individu_id``, ``hubungan``).
        kk_families: ``id_keluarga`` (KK), ``dtsen_keluarga_id`` (Dukcapil's families).
        ranked_families: ``dtsen_keluarga_id`` of the previous period's register.
        visits: ``groundcheck/keluarga`` (``id_gc``, ``tanggal_gc``, ``id_usulan``, ``hasil``).

    A family proposed twice (a member in both) is decided once: the earlier proposal
    speaks, the later is ``DITOLAK`` with ``USULAN_GANDA:<the earlier id>``.
    """
    found = family_by_members(
        members.withColumnRenamed("id_usulan", "_k"), person_family, "_k"
    ).withColumnRenamed("_k", "id_usulan")
    order = F.struct("tanggal", "id_usulan")
    stamped = members.join(usulan.select("id_usulan", "tanggal"), "id_usulan")
    first_per_person = stamped.groupBy("dtsen_individu_id").agg(F.min(order).alias("_first"))
    primary = (
        stamped.join(first_per_person, "dtsen_individu_id")
        .groupBy("id_usulan")
        .agg(F.min("_first").getField("id_usulan").alias("_primary"))
    )
    latest_visit = Window.partitionBy("id_usulan").orderBy(F.desc("tanggal_gc"), F.desc("id_gc"))
    verdict = (
        visits.where(F.col("id_usulan").isNotNull())
        .withColumn("_r", F.row_number().over(latest_visit))
        .where("_r = 1")
        .select("id_usulan", F.col("hasil").alias("_hasil"))
    )
    base = (
        usulan.join(found, "id_usulan", "left")
        .join(_by_kk(usulan, "id_usulan", kk_families), "id_usulan", "left")
        .join(primary, "id_usulan", "left")
        .join(verdict, "id_usulan", "left")
        .withColumn("_known", F.coalesce("dtsen_keluarga_id", "_kk_family"))
        .join(
            ranked_families.select(F.col("dtsen_keluarga_id").alias("_known"))
            .distinct()
            .withColumn("_ranked", F.lit(True)),
            "_known",
            "left",
        )
    )
    minted = registry.family_id(F.concat(F.lit("usulan:"), F.col("id_usulan")), salt)
    own_family = F.coalesce("_known", minted)
    duplicate = F.col("_primary").isNotNull() & (F.col("_primary") != F.col("id_usulan"))
    status = (
        F.when(F.col("_ranked"), SUDAH_ADA)
        .when(duplicate, DITOLAK)
        .when(F.col("_hasil") == DITEMUKAN, TERVERIFIKASI)
        .when(F.col("_hasil").isNotNull(), DITOLAK)
        .otherwise(MENUNGGU)
    )
    reason = (
        F.when(F.col("_ranked"), "KELUARGA_DI_REGISTER")
        .when(duplicate, F.concat(F.lit("USULAN_GANDA:"), F.col("_primary")))
        .when(F.col("_hasil") == DITEMUKAN, "TERVERIFIKASI_GROUNDCHECK")
        .when(F.col("_hasil").isNotNull(), F.col("_hasil"))
        .otherwise("MENUNGGU_GROUNDCHECK")
    )
    decided = base.select(
        "id_usulan",
        "tanggal",
        "jalur",
        own_family.alias("_own"),
        status.alias("status"),
        reason.alias("alasan"),
        (F.col("disahkan_kepala_daerah") == 1).alias("disahkan_kepala_daerah"),
        F.when(F.col("program") != "", F.col("program")).alias("program"),
        F.col("_known").isNull().alias("_minted"),
        "_primary",
    )
    # A duplicate points to the family its earlier twin was given.
    twins = decided.select(F.col("id_usulan").alias("_primary"), F.col("_own").alias("_twin"))
    rows = decided.join(twins, "_primary", "left").withColumn(
        "dtsen_keluarga_id",
        F.when(duplicate, F.coalesce("_twin", "_own")).otherwise(F.col("_own")),
    )
    log = registry.events(
        rows.where(F.col("_minted") & ~duplicate).select(
            F.col("dtsen_keluarga_id").alias("id_baru"), F.lit("usulan").alias("sumber_bukti")
        ),
        periode,
        "keluarga",
        registry.BARU,
    )
    out = rows.select(
        F.lit(periode).alias("periode"),
        "id_usulan",
        "tanggal",
        "jalur",
        "dtsen_keluarga_id",
        "status",
        "alasan",
        "disahkan_kepala_daerah",
        "program",
    )
    return out, log


def visits_attached(
    visits: DataFrame,
    members: DataFrame,
    person_family: DataFrame,
    kk_families: DataFrame,
    known_families: DataFrame,
    usulan: DataFrame,
    periode: str,
) -> DataFrame:
    """``gold/groundcheck``: one row per visit with the family it applied to and what changed.

    Args:
        visits: ``groundcheck/keluarga``.
        members: ``groundcheck/individu`` linked (``id_gc``, ``dtsen_individu_id``,
            ``hubungan``, ``status``).
        known_families: ``dtsen_keluarga_id`` the register knows.
        usulan: ``gold/usulan`` rows of this update (a visit verifying a proposal
            applies to the proposal's family when nothing else places it).
    """
    present = members.where(F.col("status").isin("ADA", "TIDAK_DITEMUKAN", "MENINGGAL", "PINDAH"))
    by_members = family_by_members(present, person_family, "id_gc")
    printed = visits.select("id_gc", F.col("dtsen_keluarga_id").alias("_printed")).join(
        known_families.select(F.col("dtsen_keluarga_id").alias("_printed")).distinct(),
        "_printed",
        "left_semi",
    )
    proposed = usulan.select("id_usulan", F.col("dtsen_keluarga_id").alias("_proposed"))
    by_status = members.groupBy("id_gc").agg(
        *[
            F.sort_array(
                F.collect_list(F.when(F.col("status") == s, F.col("dtsen_individu_id")))
            ).alias(f"_{s.lower()}")
            for s in ("TIDAK_DITEMUKAN", "MENINGGAL", "BARU", "PINDAH")
        ]
    )
    observed = F.filter(
        F.array(*[F.when(F.col(v).isNotNull(), F.lit(v)) for v in FAMILY_VARIABLES]),
        lambda v: v.isNotNull(),
    )
    counts = [
        F.when(F.size(F.col(f"_{s}")) > 0, F.concat(F.lit(f"{s.upper()}:"), F.size(f"_{s}")))
        for s in ("meninggal", "baru", "pindah", "tidak_ditemukan")
    ]
    changes = F.concat(
        F.when(F.col("hasil") == DITEMUKAN, observed).otherwise(F.array().cast("array<string>")),
        F.filter(F.array(*counts), lambda v: v.isNotNull()),
    )
    attached = (
        visits.drop("dtsen_keluarga_id")
        .join(by_members, "id_gc", "left")
        .join(_by_kk(visits, "id_gc", kk_families), "id_gc", "left")
        .join(printed, "id_gc", "left")
        .join(proposed, "id_usulan", "left")
        .join(by_status, "id_gc", "left")
    )
    empty = F.array().cast("array<string>")
    return attached.select(
        F.lit(periode).alias("periode"),
        "id_gc",
        F.col("tanggal_gc").cast("date").alias("tanggal_gc"),
        F.coalesce("dtsen_keluarga_id", "_kk_family", "_printed", "_proposed").alias(
            "dtsen_keluarga_id"
        ),
        "id_usulan",
        "hasil",
        changes.alias("perubahan"),
        F.coalesce("_tidak_ditemukan", empty).alias("individu_tidak_ditemukan"),
        F.coalesce("_meninggal", empty).alias("individu_meninggal"),
        F.coalesce("_baru", empty).alias("individu_baru"),
    )


def survivorship(families: DataFrame, attached: DataFrame, visits: DataFrame) -> DataFrame:
    """``families`` with a ``DITEMUKAN`` visit's variables as the newest observation.

    The latest found visit per family wins; each variable it observed replaces the
    golden value, and ``sumber_variabel`` records ``gc:<id_gc>@<tanggal_gc>``.
    """
    newest = Window.partitionBy("dtsen_keluarga_id").orderBy(F.desc("tanggal_gc"), F.desc("id_gc"))
    found = (
        attached.where((F.col("hasil") == DITEMUKAN) & F.col("dtsen_keluarga_id").isNotNull())
        .select("id_gc", "dtsen_keluarga_id", "tanggal_gc")
        .withColumn("_r", F.row_number().over(newest))
        .where("_r = 1")
        .join(
            visits.select("id_gc", *[F.col(v).alias(f"_gc_{v}") for v in FAMILY_VARIABLES]),
            "id_gc",
        )
    )
    joined = families.join(found.drop("_r"), "dtsen_keluarga_id", "left")
    stamp = F.concat(F.lit("gc:"), F.col("id_gc"), F.lit("@"), F.col("tanggal_gc").cast("string"))
    observed = F.create_map(
        *[
            x
            for v in FAMILY_VARIABLES
            for x in (F.lit(v), F.when(F.col(f"_gc_{v}").isNotNull(), stamp))
        ]
    )
    provenance = F.map_zip_with(
        F.col("sumber_variabel"),
        F.map_filter(observed, lambda _k, v: v.isNotNull()),
        lambda _k, old, new: F.coalesce(new, old),
    )
    replaced = joined.withColumns(
        {
            v: F.coalesce(F.col(f"_gc_{v}").cast(families.schema[v].dataType), F.col(v))
            for v in FAMILY_VARIABLES
        }
    ).withColumn(
        "sumber_variabel",
        F.when(F.col("id_gc").isNotNull(), provenance).otherwise(F.col("sumber_variabel")),
    )
    return replaced.select(*families.columns)


def objections(
    sanggahan: DataFrame,
    persons: DataFrame,
    listed: DataFrame,
    periode: str,
) -> DataFrame:
    """``gold/sanggahan``: each objection tied to its target, with its follow-up.

    Args:
        sanggahan: ``sanggahan/sanggahan.csv``.
        persons: one row per NIK known to the register: ``nik``, ``dtsen_individu_id``,
            ``dtsen_keluarga_id`` (now), ``kk`` (the Dukcapil KK, null without a
            record), ``status_dukcapil``.
        listed: ``dtsen_individu_id``, ``dtsen_keluarga_id`` of every family a registry
            lists the person in.

    An objection never removes anyone: ``TIDAK_LAYAK`` and unconfirmed objections go to
    the ground-check queue (``DIPROSES``). ``SUDAH_MENINGGAL`` is ``TERKONFIRMASI`` when
    Dukcapil already records the death; ``BUKAN_ANGGOTA`` from the target's own listed
    family is ``DITERAPKAN`` when Dukcapil has the target on another KK than the
    reporter (the register already follows the KK, so the target is detached).
    """
    target = persons.select(*[F.col(c).alias(f"t_{c}") for c in persons.columns])
    reporter = persons.select(*[F.col(c).alias(f"r_{c}") for c in persons.columns])
    lists = listed.select(
        F.col("dtsen_individu_id").alias("t_dtsen_individu_id"),
        F.col("dtsen_keluarga_id").alias("_listed_in"),
    )
    joined = sanggahan.join(target, F.col("nik_sasaran") == F.col("t_nik"), "left").join(
        reporter, F.col("nik_pelapor") == F.col("r_nik"), "left"
    )
    same_listing = (
        joined.join(lists, "t_dtsen_individu_id", "left")
        .groupBy("id_sanggahan")
        .agg(
            F.max((F.col("_listed_in") == F.col("r_dtsen_keluarga_id")).cast("int")).alias("_same")
        )
    )
    decided = joined.join(same_listing, "id_sanggahan", "left")
    known = F.col("t_dtsen_individu_id").isNotNull()
    dead = F.col("t_status_dukcapil") == "MENINGGAL"
    other_kk = (
        (F.col("_same") == 1)
        & F.col("t_kk").isNotNull()
        & F.col("r_kk").isNotNull()
        & (F.col("t_kk") != F.col("r_kk"))
    )
    status = (
        F.when(~known, "TIDAK_DIKENAL")
        .when((F.col("jenis") == "SUDAH_MENINGGAL") & dead, "TERKONFIRMASI")
        .when((F.col("jenis") == "BUKAN_ANGGOTA") & other_kk, "DITERAPKAN")
        .otherwise(DIPROSES)
    )
    follow_up = (
        F.when(~known, "NIK_SASARAN_TIDAK_DITEMUKAN")
        .when((F.col("jenis") == "SUDAH_MENINGGAL") & dead, "MENINGGAL_MENURUT_DUKCAPIL")
        .when((F.col("jenis") == "BUKAN_ANGGOTA") & other_kk, "DILEPAS_DARI_KELUARGA")
        .otherwise("ANTRIAN_GROUNDCHECK")
    )
    return decided.select(
        F.lit(periode).alias("periode"),
        "id_sanggahan",
        F.col("tanggal").cast("date").alias("tanggal"),
        "jenis",
        F.col("t_dtsen_individu_id").alias("dtsen_individu_id"),
        F.col("t_dtsen_keluarga_id").alias("dtsen_keluarga_id"),
        status.alias("status"),
        follow_up.alias("tindak_lanjut"),
    )


def reactivation_requests(reaktivasi: DataFrame, persons: DataFrame, periode: str) -> DataFrame:
    """``gold/permintaan_reaktivasi``: each request with its person (null when unknown)."""
    return reaktivasi.join(persons, "nik", "left").select(
        F.lit(periode).alias("periode"),
        "dtsen_individu_id",
        "dtsen_keluarga_id",
        F.col("tanggal").cast("date").alias("tanggal"),
        "alasan",
        F.col("surat_dinsos").cast("int").alias("surat_dinsos"),
        F.col("surat_faskes").cast("int").alias("surat_faskes"),
    )
