"""Golden records: one row per person and per family, with explicit survivorship.

Persons: identity (NIK, name, sex, birth date, region) comes from the Dukcapil record
when the person is padan, otherwise from the first source in precedence order
(Regsosek, P3KE, DTKS) that has the person. Families: each welfare variable is taken
from the first source in precedence order that holds a value for it, and
``sumber_variabel`` records which source that was (provenance per variable). When one
source split the family over several records, the one with most members speaks for it.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from delivery.variables import MEMBER_VARIABLES
from linkage.padan import NIK_TIDAK_VALID, PADAN_AKTIF, PADAN_TIDAK_AKTIF, TIDAK_PADAN

PRECEDENCE = ("dukcapil", "regsosek", "p3ke", "dtks", "groundcheck", "usulan")
STATUS_RANK = {PADAN_AKTIF: 1, PADAN_TIDAK_AKTIF: 2, TIDAK_PADAN: 3, NIK_TIDAK_VALID: 4}


def _rank(column: Column, order: tuple[str, ...]) -> Column:
    return F.array_position(F.array(*[F.lit(v) for v in order]), column)


def golden_persons(records: DataFrame, person_family: DataFrame) -> DataFrame:
    """One row per person.

    Args:
        records: per source record: ``dtsen_individu_id``, ``sumber``, ``nik``,
            ``nik_alasan``, ``nama_asli``, ``jenis_kelamin``, ``tanggal_lahir``,
            ``kode_wilayah``, ``status_padan``, ``status_dukcapil``, ``hubungan`` and
            the member variables (null where a source lacks them).
        person_family: ``dtsen_individu_id``, ``dtsen_keluarga_id``.
    """
    # Dukcapil first (the active record before a retired GANDA one), then registries.
    order = Window.partitionBy("dtsen_individu_id").orderBy(
        _rank(F.col("sumber"), PRECEDENCE),
        F.when(F.col("status_dukcapil") == "AKTIF", 0).otherwise(1),
        "uid",
    )
    ranked = records.withColumn("_rank", F.row_number().over(order))
    identity = ranked.where("_rank = 1").select(
        "dtsen_individu_id",
        F.when(F.col("nik_alasan").isNull(), F.col("nik")).alias("nik"),
        F.col("nama_asli").alias("nama"),
        "jenis_kelamin",
        "tanggal_lahir",
        "kode_wilayah",
    )
    status_rank = F.create_map(*[F.lit(x) for pair in STATUS_RANK.items() for x in pair])
    ranks_to_status = F.create_map(*[F.lit(x) for k, v in STATUS_RANK.items() for x in (v, k)])
    registry_rank = F.when(F.col("sumber") != "dukcapil", _rank(F.col("sumber"), PRECEDENCE))
    first_registry = F.min(
        F.when(
            F.col("sumber") != "dukcapil",
            F.struct(
                registry_rank.alias("r"),
                *[F.col(v).alias(v) for v in ("hubungan", *MEMBER_VARIABLES)],
            ),
        )
    )
    flags = records.groupBy("dtsen_individu_id").agg(
        F.min(F.try_element_at(status_rank, F.col("status_padan"))).alias("_status"),
        *[F.max(F.col("sumber") == s).alias(f"di_{s}") for s in ("regsosek", "p3ke", "dtks")],
        first_registry.alias("_vars"),
    )
    return (
        identity.join(flags, "dtsen_individu_id")
        .join(person_family, "dtsen_individu_id", "left")
        .select(
            "dtsen_individu_id",
            "dtsen_keluarga_id",
            "nik",
            "nama",
            "jenis_kelamin",
            "tanggal_lahir",
            "kode_wilayah",
            F.try_element_at(ranks_to_status, F.col("_status")).alias("status_padan"),
            "di_regsosek",
            "di_p3ke",
            "di_dtks",
            *[F.col(f"_vars.{v}").alias(v) for v in ("hubungan", *MEMBER_VARIABLES)],
        )
    )


def _largest(families: DataFrame, link_keluarga: DataFrame, key: str, sumber: str) -> DataFrame:
    """Per DTSEN family, the source family with most members (ties: smallest key)."""
    linked = families.join(
        link_keluarga.where(F.col("sumber") == sumber).select(
            F.col("id_keluarga").alias(key), "dtsen_keluarga_id", "anggota"
        ),
        key,
    )
    order = Window.partitionBy("dtsen_keluarga_id").orderBy(F.desc("anggota"), key)
    return linked.withColumn("_rank", F.row_number().over(order)).where("_rank = 1").drop("_rank")


def golden_families(
    link_keluarga: DataFrame,
    relasi: DataFrame,
    persons: DataFrame,
    regsosek: DataFrame,
    p3ke: DataFrame,
    dtks: DataFrame,
    welfare_variables: list[str],
    dtks_indicators: list[str],
) -> DataFrame:
    """One row per DTSEN family (found in at least one registry).

    Args:
        link_keluarga: ``sumber``, ``id_keluarga``, ``dtsen_keluarga_id``, ``anggota``
            (linked members of that source family).
        relasi: ``dtsen_keluarga_id``, ``relasi``.
        persons: golden persons (``dtsen_keluarga_id``, ``kode_wilayah``).
        regsosek: bronze Regsosek families (``id_keluarga``, ``no_kk``, ``kode_wilayah``
            and the welfare variables).
        p3ke: bronze P3KE families (``id_keluarga_p3ke``, ..., ``desil_p3ke``).
        dtks: one row per DTKS family: ``ID_KELUARGA``, ``NOKK``, ``KODE_WILAYAH`` and
            the nine indicators.
        welfare_variables: Regsosek family variables to consolidate.
        dtks_indicators: DTKS indicator columns, kept as they are.
    """
    r = _largest(regsosek, link_keluarga, "id_keluarga", "regsosek").alias("r")
    p = _largest(p3ke, link_keluarga, "id_keluarga_p3ke", "p3ke").alias("p")
    d = _largest(dtks, link_keluarga, "ID_KELUARGA", "dtks").alias("d")
    kk = (
        link_keluarga.where(F.col("sumber") == "dukcapil")
        .groupBy("dtsen_keluarga_id")
        .agg(F.min("id_keluarga").alias("kk_dukcapil"))
    )
    size = persons.groupBy("dtsen_keluarga_id").agg(
        F.count(F.lit(1)).alias("jumlah_anggota"),
        F.mode("kode_wilayah").alias("wilayah_anggota"),
    )
    base = (
        relasi.join(kk, "dtsen_keluarga_id", "left")
        .join(size, "dtsen_keluarga_id", "left")
        .join(
            r.select(
                "dtsen_keluarga_id",
                *[F.col(f"r.{c}").alias(f"r_{c}") for c in r.columns if c != "dtsen_keluarga_id"],
            ),
            "dtsen_keluarga_id",
            "left",
        )
        .join(
            p.select(
                "dtsen_keluarga_id",
                *[F.col(f"p.{c}").alias(f"p_{c}") for c in p.columns if c != "dtsen_keluarga_id"],
            ),
            "dtsen_keluarga_id",
            "left",
        )
        .join(
            d.select(
                "dtsen_keluarga_id",
                *[F.col(f"d.{c}").alias(f"d_{c}") for c in d.columns if c != "dtsen_keluarga_id"],
            ),
            "dtsen_keluarga_id",
            "left",
        )
    )
    p_columns = set(p.columns)
    values, provenance = [], []
    for name in welfare_variables:
        r_value = F.col(f"r_{name}")
        p_value = F.col(f"p_{name}") if name in p_columns else F.lit(None)
        values.append(F.coalesce(r_value, p_value).alias(name))
        provenance.extend(
            [
                F.lit(name),
                F.when(r_value.isNotNull(), "regsosek").when(p_value.isNotNull(), "p3ke"),
            ]
        )
    return base.select(
        "dtsen_keluarga_id",
        F.coalesce("kk_dukcapil", "r_no_kk", "p_no_kk", "d_NOKK").alias("no_kk"),
        F.coalesce("wilayah_anggota", "r_kode_wilayah", "p_kode_wilayah", "d_KODE_WILAYAH").alias(
            "kode_wilayah"
        ),
        F.coalesce("jumlah_anggota", F.lit(0)).cast("int").alias("jumlah_anggota"),
        "relasi",
        *values,
        F.col("p_desil_p3ke").alias("desil_p3ke"),
        *[F.col(f"d_{c}").alias(c.lower()) for c in dtks_indicators],
        F.map_filter(F.create_map(*provenance), lambda _k, v: v.isNotNull()).alias(
            "sumber_variabel"
        ),
    )
