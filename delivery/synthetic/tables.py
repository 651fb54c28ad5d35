"""The delivered tables, one function each, exactly per ``shared/contract/inputs.md``.

Every function takes the wide person frame (after :func:`assemble.assign_identifiers`
and :func:`assemble.family_context`) and returns what the job writes: CSV tables as
single-column text-line frames (:func:`assemble.csv_lines`), Parquet tables typed.
"""

from __future__ import annotations

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from delivery.synthetic.assemble import csv_lines, nullable_code, written_kk, written_nik, yes_no
from delivery.synthetic.reference import Regions
from delivery.synthetic.welfare import DTKS_MISREPORT
from delivery.variables import FAMILY_VARIABLES, HOUSING_VARIABLES, MEMBER_VARIABLES

P3KE_HOUSING = [
    "status_bangunan",
    "lantai",
    "dinding",
    "atap",
    "air_minum",
    "penerangan",
    "bahan_bakar",
    "pembuangan_tinja",
]
_NOT_APPLICABLE_ZERO = {"daya_listrik", "kloset", "lapangan_usaha", "status_pekerjaan"}


def variable_value(name: str, held_by: str = "") -> Column:
    """A variable as written: the truth (Susenas), or ``held_by``'s copy (``r_``, ``p_``).

    Marital status is not a welfare variable the generator ages: sources copy it as is.
    """
    column = name if name == "status_kawin" else held_by + name
    return nullable_code(column) if name in _NOT_APPLICABLE_ZERO else F.col(column).cast("string")


def registry(pop: DataFrame) -> DataFrame:
    """Persons of the registries (Susenas households are generated separately)."""
    return pop.where(~F.col("is_susenas"))


# --------------------------------------------------------------------------- Dukcapil


def dukcapil_penduduk(pop: DataFrame) -> DataFrame:
    """The civil registry: every person, plus a retired GANDA record for duplicate holders."""
    base = {
        "NO_KK": F.col("no_kk"),
        "NAMA_LGKP": F.col("nama"),
        "JENIS_KLMIN": F.col("jenis_kelamin"),
        "TMPT_LHR": F.col("tempat_lahir"),
        "TGL_LHR": F.col("tanggal_lahir"),
        "STAT_HBKEL": F.col("hubungan_kk"),
        "STATUS_KAWIN": F.col("status_kawin"),
        "ALAMAT": F.col("alamat"),
        "NO_RT": F.col("rt"),
        "NO_RW": F.col("rw"),
        "KODE_WILAYAH": F.col("kode_wilayah"),
    }
    people = registry(pop).where("in_dukcapil")
    current = people.select(
        F.col("nik").alias("NIK"),
        *[c.alias(k) for k, c in base.items()],
        F.col("status").alias("STATUS"),
    )
    retired = people.where(F.col("nik_ganda").isNotNull()).select(
        F.col("nik_ganda").alias("NIK"),
        *[c.alias(k) for k, c in base.items()],
        F.lit("GANDA").alias("STATUS"),
    )
    return current.unionByName(retired)


# --------------------------------------------------------------------------- Regsosek


def regsosek_keluarga(pop: DataFrame) -> DataFrame:
    fam = registry(pop).where("rep_r")
    columns = {
        "id_keluarga": F.col("fam_r"),
        "no_kk": written_kk("r"),
        "kode_wilayah": F.col("kode_wilayah_r"),
        "alamat": F.col("alamat_r"),
        "rt": F.col("rt"),
        "rw": F.col("rw"),
        **{name: variable_value(name, "r_") for name in HOUSING_VARIABLES},
        "id_pln": F.col("id_pln"),
        **{name: variable_value(name, "r_") for name in FAMILY_VARIABLES[len(HOUSING_VARIABLES) :]},
    }
    return csv_lines(fam, columns, ",", "r", numeric="luas_lantai", code="lantai")


def regsosek_individu(pop: DataFrame) -> DataFrame:
    people = registry(pop).where("in_r")
    columns = {
        "id_individu": F.col("id_r"),
        "id_keluarga": F.col("fam_r"),
        "nik": written_nik("r"),
        "nama": F.initcap(F.col("nama_r")),
        "jenis_kelamin": F.col("jenis_kelamin"),
        "tempat_lahir": F.initcap(F.col("tempat_lahir")),
        "tanggal_lahir": F.col("tgl_r"),
        "hubungan_kk": F.col("hub_r"),
        **{name: variable_value(name, "r_") for name in MEMBER_VARIABLES},
    }
    return csv_lines(people, columns, ",", "r", numeric="jenis_kelamin", code="pendidikan")


# ------------------------------------------------------------------------------- P3KE


def p3ke_keluarga(pop: DataFrame) -> DataFrame:
    fam = registry(pop).where("rep_p")
    columns = {
        "id_keluarga_p3ke": F.col("fam_p"),
        "no_kk": written_kk("p"),
        "kode_wilayah": F.col("kode_wilayah_p"),
        "alamat": F.col("alamat_p"),
        "desil_p3ke": F.col("desil_p3ke"),
        **{name: variable_value(name, "p_") for name in P3KE_HOUSING},
    }
    return csv_lines(fam, columns, ",", "p", numeric="desil_p3ke", code="atap")


def p3ke_individu(pop: DataFrame) -> DataFrame:
    people = registry(pop).where("in_p")
    columns = {
        "id_individu_p3ke": F.col("id_p"),
        "id_keluarga_p3ke": F.col("fam_p"),
        "nik": written_nik("p"),
        "nama_lengkap": F.col("nama_p"),
        "jenis_kelamin": F.when(F.col("jenis_kelamin") == 1, "LAKI-LAKI").otherwise("PEREMPUAN"),
        "tanggal_lahir": F.col("tgl_p"),
        "hubungan_kk": F.col("hub_p"),
        "pendidikan": variable_value("pendidikan", "p_"),
        "lapangan_usaha": variable_value("lapangan_usaha", "p_"),
    }
    return csv_lines(people, columns, ",", "p", numeric="hubungan_kk", code="pendidikan")


# ------------------------------------------------------------------------------- DTKS


def _dtks_indicators() -> dict[str, Column]:
    """The nine DTKS family indicators (1 = the condition named holds).

    D3-D5 are self-reported and only loosely tied to welfare: ``nik_u_d``, a uniform
    draw already carried by each row, serves as their reporting noise. DTKS (Nov 2024)
    is the newest source, so D1, D2 and D6-D9 follow the true variables, each misreported
    (flipped) for ``DTKS_MISREPORT`` of families by a seeded hash of the family key.
    """
    exact = {
        "D1_TEMPAT_BERTEDUH": F.col("status_bangunan").isin(1, 2, 4),
        "D2_KK_BEKERJA": F.col("head_bekerja") == 1,
        "D3_KHAWATIR_MAKAN": F.col("w") + F.col("nik_u_d") * 0.8 < -0.9,
        "D4_PANGAN_GT50": F.col("w") + F.col("nik_u_d") * 0.6 < -0.2,
        "D5_BELI_PAKAIAN": F.col("w") - F.col("nik_u_d") * 0.6 > -1.0,
        "D6_LANTAI_TANAH": F.col("lantai").isin(7, 8),
        "D7_DINDING_BAMBU": F.col("dinding").isin(2, 3, 4, 5, 6),
        "D8_BAB_SENDIRI": F.col("fasilitas_bab") == 1,
        "D9_LISTRIK_450": (F.col("daya_listrik") == 1) | (F.col("penerangan") != 1),
    }

    def misreported(name: str, condition: Column) -> Column:
        if name[:2] in ("D3", "D4", "D5"):
            return condition
        flip = F.abs(F.xxhash64("fam_d", F.lit(name))) % 10_000 < DTKS_MISREPORT * 10_000
        return F.when(flip, ~condition).otherwise(condition)

    return {name: misreported(name, condition) for name, condition in exact.items()}


def dtks(pop: DataFrame) -> DataFrame:
    """DTKS, one row per member; family indicators repeated from the family's head row."""
    people = registry(pop).where("in_d")
    head_work = Window.partitionBy("family_id").orderBy("position")
    people = people.withColumn("head_bekerja", F.first("bekerja").over(head_work))
    indicators = _dtks_indicators()
    fam_window = Window.partitionBy("fam_d").orderBy(F.col("rep_d").desc(), "person_key")
    for name, condition in indicators.items():
        people = people.withColumn(name, F.first(condition.cast("int")).over(fam_window))
    columns = {
        "ID_DTKS": F.col("id_d"),
        "ID_KELUARGA": F.col("fam_d"),
        "NIK": written_nik("d"),
        "NOKK": written_kk("d"),
        "NAMA": F.col("nama_d"),
        "JNS_KEL": F.when(F.col("jenis_kelamin") == 1, "L").otherwise("P"),
        "TGL_LAHIR": F.col("tgl_d"),
        "HUB_KEL": F.col("hub_d"),
        "KODE_WILAYAH": F.col("kode_wilayah_d"),
        "ALAMAT": F.col("alamat_d"),
        **{name: F.col(name) for name in indicators},
        "PKH": yes_no("pkh"),
        "SEMBAKO": yes_no("sembako"),
        "PBI": yes_no("pbi"),
    }
    return csv_lines(people, columns, ";", "d", numeric="HUB_KEL", code="D6_LANTAI_TANAH")


# ------------------------------------------------------------------------------ Admin


def _clean_lines(df: DataFrame, columns: dict[str, Column]) -> DataFrame:
    """Admin extracts carry no generated row dirt (their NIKs are Dukcapil's)."""
    return csv_lines(
        df.withColumn("bad_x", F.lit(0)).withColumn("dup_x", F.lit(False)),
        columns,
        ",",
        "x",
        numeric="",
        code="",
    )


def admin_pln(pop: DataFrame) -> DataFrame:
    heads = registry(pop).where("position = 0 AND id_pln IS NOT NULL")
    va = F.element_at(
        F.array(*[F.lit(v) for v in (450, 900, 1300, 2200, 3500)]), F.col("daya_listrik")
    )
    return _clean_lines(
        heads,
        {
            "id_pelanggan": F.col("id_pln"),
            "nik_pelanggan": F.col("nik"),
            "daya_va": va,
            "kode_wilayah": F.col("kode_wilayah"),
        },
    )


def admin_bkn(pop: DataFrame) -> DataFrame:
    staff = registry(pop).where("bkn_status IS NOT NULL AND status != 'MENINGGAL'")
    return _clean_lines(
        staff,
        {"nik": F.col("nik"), "kategori": F.col("bkn_kategori"), "status": F.col("bkn_status")},
    )


def admin_bpjs(pop: DataFrame) -> DataFrame:
    workers = registry(pop).where("upah IS NOT NULL")
    return _clean_lines(workers, {"nik": F.col("nik"), "upah_bulanan": F.col("upah").cast("long")})


def admin_samsat(pop: DataFrame) -> DataFrame:
    heads = registry(pop).where("position = 0")
    cars = heads.where("aset_mobil = 1").withColumn("jenis", F.lit("MOBIL"))
    bikes = heads.where("aset_sepeda_motor = 1").withColumn("jenis", F.lit("MOTOR"))
    return _clean_lines(
        cars.unionByName(bikes),
        {
            "nik_pemilik": F.col("nik"),
            "jenis": F.col("jenis"),
            "tahun_pembuatan": F.col("tahun_kendaraan"),
        },
    )


def admin_negatif(pop: DataFrame) -> DataFrame:
    listed = registry(pop).where("negatif")
    return _clean_lines(listed, {"nik": F.col("nik"), "alasan": F.lit("JUDI_ONLINE")})


def program_penerima(pop: DataFrame) -> DataFrame:
    people = registry(pop).where("status = 'AKTIF'")
    heads = people.where("position = 0")
    rows = (
        heads.where("pkh = 1")
        .withColumn("program", F.lit("PKH"))
        .unionByName(heads.where("sembako = 1").withColumn("program", F.lit("SEMBAKO")))
        .unionByName(people.where("pbi = 1").withColumn("program", F.lit("PBI")))
    )
    return _clean_lines(
        rows,
        {
            "nik": F.col("nik"),
            "program": F.col("program"),
            "sudah_groundcheck": yes_no("groundcheck"),
        },
    )


# ---------------------------------------------------------------------------- Susenas


def susenas_keluarga(sus: DataFrame) -> DataFrame:
    households = sus.where("rep_s")
    columns = {
        "id_ruta": F.col("id_ruta"),
        "kode_wilayah": F.col("kode_wilayah"),
        "bobot": F.round("bobot", 3),
        "pengeluaran_kapita": F.col("pengeluaran_kapita").cast("long"),
        **{name: variable_value(name) for name in FAMILY_VARIABLES},
    }
    return _clean_lines(households, columns)


def susenas_individu(sus: DataFrame) -> DataFrame:
    columns = {
        "id_ruta": F.col("id_ruta"),
        "jenis_kelamin": F.col("jenis_kelamin"),
        "tanggal_lahir": F.date_format("tanggal_lahir", "yyyy-MM-dd"),
        "hubungan_kk": F.col("hubungan_kk"),
        **{name: variable_value(name) for name in MEMBER_VARIABLES},
    }
    return _clean_lines(sus, columns)


# ------------------------------------------------------------------------------ Truth


def dukcapil_truth_individu(people: DataFrame) -> DataFrame:
    """Every NIK of the Dukcapil extract (active and retired GANDA) -> ``person_id``."""
    registered = people.where("in_dukcapil")
    return registered.select(
        F.lit("dukcapil").alias("sumber"), F.col("nik").alias("id_record"), "person_id"
    ).unionByName(
        registered.where("nik_ganda IS NOT NULL").select(
            F.lit("dukcapil").alias("sumber"), F.col("nik_ganda").alias("id_record"), "person_id"
        )
    )


def dukcapil_truth_keluarga(people: DataFrame) -> DataFrame:
    """Every KK of the Dukcapil extract -> ``family_id``."""
    # A KK is in Dukcapil when any of its members is (heads may be unregistered).
    return (
        people.where("in_dukcapil")
        .select(F.lit("dukcapil").alias("sumber"), F.col("no_kk").alias("id_keluarga"), "family_id")
        .distinct()
    )


def truth_individu(pop: DataFrame) -> DataFrame:
    people = registry(pop)
    parts = [dukcapil_truth_individu(people)]
    for s, name in (("r", "regsosek"), ("p", "p3ke"), ("d", "dtks")):
        parts.append(
            people.where(f"in_{s}").select(
                F.lit(name).alias("sumber"), F.col(f"id_{s}").alias("id_record"), "person_id"
            )
        )
    out = parts[0]
    for part in parts[1:]:
        out = out.unionByName(part)
    return out


def truth_keluarga(pop: DataFrame) -> DataFrame:
    people = registry(pop)
    parts = [dukcapil_truth_keluarga(people)]
    for s, name in (("r", "regsosek"), ("p", "p3ke"), ("d", "dtks")):
        parts.append(
            people.where(f"rep_{s}").select(
                F.lit(name).alias("sumber"), F.col(f"fam_{s}").alias("id_keluarga"), "family_id"
            )
        )
    out = parts[0]
    for part in parts[1:]:
        out = out.unionByName(part)
    return out


def truth_kesejahteraan(pop: DataFrame) -> DataFrame:
    return (
        registry(pop)
        .where("position = 0")
        .select(
            "family_id",
            F.round(F.exp("ln_pce"), 2).alias("pengeluaran_kapita"),
            F.col("ln_pce_oracle").cast("double").alias("ln_pce_oracle"),
        )
    )


CSV_TABLES = {
    "regsosek/keluarga": regsosek_keluarga,
    "regsosek/individu": regsosek_individu,
    "p3ke/keluarga": p3ke_keluarga,
    "p3ke/individu": p3ke_individu,
    "dtks/dtks": dtks,
    "admin/pln": admin_pln,
    "admin/bkn": admin_bkn,
    "admin/bpjs_ketenagakerjaan": admin_bpjs,
    "admin/samsat": admin_samsat,
    "admin/negatif": admin_negatif,
    "program/penerima": program_penerima,
}
SUSENAS_TABLES = {"susenas/keluarga": susenas_keluarga, "susenas/individu": susenas_individu}
TRUTH_TABLES = {
    "_truth/individu": truth_individu,
    "_truth/keluarga": truth_keluarga,
    "_truth/kesejahteraan": truth_kesejahteraan,
}


def reference_tables(spark: SparkSession, regions: Regions) -> dict[str, DataFrame]:
    """``referensi/`` tables: region codes, poor population per kab/kota, minimum wages."""
    kab = regions.kab_population
    poor = pd.DataFrame(
        {
            "kode_kab": kab["kode_kab"],
            "penduduk_miskin": (kab["population"] * kab["poor_share"]).round().astype("int64"),
        }
    )
    ump = pd.DataFrame({"kode_prov": regions.provinces["code"], "ump": regions.provinces["ump"]})
    frames = {
        "referensi/wilayah": regions.wilayah,
        "referensi/kemiskinan": poor,
        "referensi/ump": ump,
    }
    return {
        name: _clean_lines(spark.createDataFrame(frame), {c: F.col(c) for c in frame.columns})
        for name, frame in frames.items()
    }
