"""The Cek DTSEN lookup: one row per person with a NIK, holding their family's answer.

A citizen asks "am I in DTSEN, in which desil, and do I receive aid?" with a NIK (and
optionally their KK). The answer is built once per period, at the end of the period's
stages, from the gold tables; the question is then a point read by key
(:mod:`dtsen.io.lookup_store`), with no Spark and no join at question time.

What a row holds, and why:

- ``kunci``: HMAC-SHA256 of the NIK under the ID secret (:func:`linkage.ids.hmac_sha256`),
  so the store holds no NIK, and a list of NIKs does not open it without the secret;
- ``kunci_kk``: the same of the family's KK, to check a KK the asker gives;
- ``bucket``: the key's first :data:`BUCKET_DIGITS` hex digits, the partition a point
  read opens;
- ``anggota_ke``: the asker's place in the family's member list;
- ``jawaban``: the family's answer as JSON (:func:`family_answers`): members masked
  (``S*** R***``, ``************1234``), desil now and in the previous period,
  every program's status with its reason, eligibility, ground checks, the queue,
  open objections and the score's main factors in plain Indonesian.

A NIK the register holds for more than one person gets one row with a null answer
and key ``kunci_kk``: which family is meant cannot be told, and guessing would show a
family to someone outside it.

The question side (:func:`reply`) is pure Python: it validates the NIK, derives the
key with :func:`key_of` (the same HMAC as the Spark column) and takes a ``find``
function that reads one row.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from delivery.numbers import clean_number
from linkage.ids import hmac_sha256
from ranking.allocation import BATAS_REAKTIVASI, DI_LUAR_DESIL, LEBIH_KUOTA, TIDAK_LAYAK
from ranking.features import FeatureSpec
from ranking.groundcheck import attached_visits
from ranking.movement import TIDAK_DIPERINGKAT
from ranking.tuning import monotone_constraints

__all__ = [
    "BUCKET_DIGITS",
    "LookupInputs",
    "Reply",
    "bucket_of",
    "factor_phrases",
    "family_answers",
    "format_answer",
    "key_of",
    "lookup_rows",
    "nik_problem",
    "reply",
]

FAMILY_KEY = "dtsen_keluarga_id"
PERSON_KEY = "dtsen_individu_id"
BUCKET_DIGITS = 2
"""Hex digits of the key that name its bucket: 256 buckets, about 4,000 persons each at
1M persons and 1.1M at the national 285M; a point read opens one bucket's file and,
rows being sorted by key, one row group of it."""

PENERIMA, MASUK, KELUAR, BUKAN_PENERIMA = "PENERIMA", "MASUK", "KELUAR", "BUKAN_PENERIMA"
OPEN_OBJECTION = "DIPROSES"
"""``gold/sanggahan.status`` of an objection a ground check has still to settle."""

WORDS = {
    # Program statuses.
    PENERIMA: "tetap menerima",
    MASUK: "mulai menerima periode ini",
    KELUAR: "berhenti menerima periode ini",
    BUKAN_PENERIMA: "tidak menerima",
    # Selection reasons (ranking.allocation.PRIORITIES and the national pass).
    "REAKTIVASI": "diaktifkan kembali (PBI-JK) atas surat dinas sosial dan fasilitas kesehatan",
    "TETAP": "penerima yang masih berada dalam rentang desil program",
    "TETAP_BELUM_GROUNDCHECK": "penerima di luar rentang desil, tetap sampai diverifikasi lapangan",
    "BARU_GROUNDCHECK": "dalam rentang desil dan sudah diverifikasi lapangan",
    "BARU_DAFTAR_TUNGGU": "dalam daftar tunggu yang disahkan kepala daerah",
    "BARU_PERINGKAT": "dalam rentang desil, terpilih menurut peringkat",
    "REDISTRIBUSI_NASIONAL": "terpilih pada kuota nasional yang tidak terisi di daerah lain",
    # Reasons for not receiving or leaving.
    TIDAK_LAYAK: "tidak memenuhi syarat kelayakan",
    BATAS_REAKTIVASI: "belum diverifikasi lapangan dalam dua periode setelah diaktifkan kembali",
    DI_LUAR_DESIL: "di luar rentang desil program",
    LEBIH_KUOTA: "memenuhi syarat, tetapi kuota kabupaten/kota sudah penuh",
    TIDAK_DIPERINGKAT: "tidak diperingkat pada periode ini",
    # Eligibility (ranking.eligibility, ranking.groundcheck).
    "MENINGGAL": "tercatat meninggal di Dukcapil",
    "UPAH_DI_ATAS_UMP": "upah BPJS Ketenagakerjaan di atas UMP provinsi",
    "DAFTAR_NEGATIF": "tercatat dalam daftar negatif",
    "ANGGOTA_BKN": "ada anggota keluarga ASN/TNI/Polri/pegawai BUMN/pejabat",
    "SEMUA_ANGGOTA_MENINGGAL": "semua anggota keluarga tercatat meninggal",
    "INDIVIDU_TIDAK_DITEMUKAN": "tidak ditemukan saat verifikasi lapangan terakhir",
    "DITEMUKAN": "keluarga ditemukan, data diperbarui",
    "ALAMAT_TIDAK_DITEMUKAN": "alamat tidak ditemukan saat verifikasi lapangan",
    "KELUARGA_TIDAK_DITEMUKAN": "keluarga tidak ditemukan di alamat saat verifikasi lapangan",
    "PINDAH": "keluarga pindah alamat",
    "MENOLAK": "keluarga menolak verifikasi atau bantuan",
    # Ground-check queue (ranking.antrian.REASONS).
    "REAKTIVASI_JATUH_TEMPO": "PBI-JK aktif kembali perlu diverifikasi sebelum batas waktu",
    "SANGGAHAN": "ada sanggahan yang perlu diverifikasi",
    "PENERIMA_DI_LUAR_DESIL": "penerima di luar rentang desil yang belum diverifikasi",
    "USULAN_BELUM_VERIFIKASI": "usulan yang menunggu verifikasi lapangan",
    # Objections (gold/sanggahan).
    "BUKAN_ANGGOTA": "dilaporkan bukan anggota keluarga",
    "SUDAH_MENINGGAL": "dilaporkan sudah meninggal",
    "ANTRIAN_GROUNDCHECK": "menunggu verifikasi lapangan",
}
"""Indonesian wording of every code an answer carries; other codes (e.g. the
``BKN_<KATEGORI>_<STATUS>`` family) read as their words in lower case."""

DESIL_MOVES = {"NAIK": "naik", "TURUN": "turun", "TETAP": "tetap", "BARU": "baru diperingkat"}

KEY_DOMAINS = {"nik": "cek:nik:", "kk": "cek:kk:"}
"""Prefixes hashed with the number: a NIK key can never equal a KK key, nor any other
HMAC the register mints from the same secret (the DTSEN IDs), so a lookup key links to
nothing outside the lookup."""

# Plain Indonesian for the PMT's features (conf/pmt_features.yaml): the feature's name,
# and optionally what a low and what a high value read as, chosen by the feature's
# welfare direction (pmt.tuning.monotone) and the sign of its contribution.
_FEATURES: dict[str, tuple[str, ...]] = {
    "jumlah_keluarga_dalam_rumah": ("Jumlah keluarga dalam satu rumah",),
    "daya_listrik": ("Daya listrik terpasang", "kecil", "besar"),
    "ternak_besar": ("Jumlah ternak besar (sapi, kerbau, kuda)",),
    "ternak_kecil": ("Jumlah ternak kecil (babi, kambing)",),
    "tempat_berteduh_tetap": ("Tempat tinggal milik sendiri atau dinas",),
    "lantai_tanah_bambu": ("Lantai tanah atau bambu", "tidak", "ya"),
    "dinding_bambu_kayu": ("Dinding bambu atau kayu",),
    "bab_sendiri": ("Fasilitas buang air besar sendiri",),
    "listrik_450_atau_tanpa": ("Listrik 450 VA atau tanpa listrik", "tidak", "ya"),
    "kota": ("Tinggal di kota (bukan kabupaten)",),
    "jumlah_anggota": ("Jumlah anggota keluarga", "sedikit", "banyak"),
    "log_jumlah_anggota": ("Jumlah anggota keluarga", "sedikit", "banyak"),
    "anggota_0_4": ("Jumlah anak usia 0-4 tahun",),
    "anggota_5_14": ("Jumlah anak usia 5-14 tahun",),
    "anggota_15_64": ("Jumlah anggota usia 15-64 tahun",),
    "anggota_65_plus": ("Jumlah anggota usia 65 tahun ke atas",),
    "anggota_perempuan": ("Jumlah anggota perempuan",),
    "kepala_umur": ("Umur kepala keluarga",),
    "kepala_perempuan": ("Kepala keluarga perempuan",),
    "kepala_kawin": ("Kepala keluarga berstatus kawin",),
    "kepala_pendidikan": ("Pendidikan kepala keluarga", "rendah", "tinggi"),
    "kepala_pertanian": ("Kepala keluarga bekerja di pertanian",),
    "kepala_status_pekerjaan": ("Status pekerjaan kepala keluarga",),
    "kepala_bekerja": ("Kepala keluarga bekerja",),
    "pendidikan_maks": ("Pendidikan tertinggi di keluarga", "rendah", "tinggi"),
    "pendidikan_dewasa_rata": ("Rata-rata pendidikan anggota dewasa",),
    "anggota_sekolah": ("Jumlah anggota yang masih sekolah",),
    "anggota_bekerja": ("Jumlah anggota yang bekerja",),
    "bekerja_pertanian": ("Jumlah anggota yang bekerja di pertanian",),
    "bekerja_industri": ("Jumlah anggota yang bekerja di industri",),
    "bekerja_jasa_modern": ("Jumlah anggota yang bekerja di jasa modern",),
    "bekerja_formal": ("Jumlah anggota pekerja formal",),
    "bekerja_lepas": ("Jumlah anggota pekerja lepas",),
    "bekerja_tak_dibayar": ("Jumlah anggota pekerja keluarga tak dibayar",),
    "punya_usaha": ("Jumlah anggota yang punya usaha",),
    "disabilitas": ("Ada anggota penyandang disabilitas",),
    "penyakit_kronis": ("Ada anggota dengan penyakit kronis",),
    "luas_lantai_per_kapita": ("Luas lantai per orang", "kecil", "besar"),
    "rasio_ketergantungan": ("Rasio anggota usia tidak produktif",),
}
_ASSETS = {
    "gas_5kg": "tabung gas 5,5 kg atau lebih",
    "kulkas": "kulkas",
    "ac": "AC",
    "pemanas_air": "pemanas air",
    "telepon_rumah": "telepon rumah",
    "tv_datar": "TV layar datar",
    "emas_10g": "emas atau perhiasan 10 gram atau lebih",
    "komputer": "komputer atau laptop",
    "sepeda": "sepeda",
    "sepeda_motor": "sepeda motor",
    "mobil": "mobil",
    "perahu": "perahu",
    "perahu_motor": "perahu motor",
    "smartphone": "telepon pintar",
    "lahan_lain": "lahan di tempat lain",
    "rumah_lain": "rumah di tempat lain",
}
_FEATURES |= {f"aset_{k}": (f"Memiliki {v}", "tidak", "ya") for k, v in _ASSETS.items()}
_CODED = {
    # Variable -> its name and its codes in order (inputs.md), from code 1 (0 for
    # bahan_bakar, whose 0 is "no cooking at home").
    "status_bangunan": ("Status tempat tinggal", "milik sendiri|sewa|bebas sewa|dinas|lainnya"),
    "lantai": (
        "Lantai rumah",
        "marmer/granit|keramik|parket/vinil/karpet|ubin/teraso|kayu/papan|semen/bata merah"
        "|bambu|tanah|lainnya",
    ),
    "dinding": (
        "Dinding rumah",
        "tembok|anyaman bambu/kawat diplester|kayu/papan/gipsum|anyaman bambu|batang kayu"
        "|bambu|lainnya",
    ),
    "atap": ("Atap rumah", "beton|genteng|seng|asbes|bambu|kayu/sirap|jerami/ijuk/daun|lainnya"),
    "air_minum": (
        "Sumber air minum",
        "air kemasan|isi ulang|leding|sumur bor/pompa|sumur terlindung|sumur tak terlindung"
        "|mata air terlindung|mata air tak terlindung|air permukaan|air hujan|lainnya",
    ),
    "penerangan": (
        "Sumber penerangan",
        "listrik PLN dengan meteran|listrik PLN tanpa meteran|listrik non-PLN|bukan listrik",
    ),
    "bahan_bakar": (
        "Bahan bakar memasak",
        "tidak memasak di rumah|listrik|LPG 5,5 kg|LPG 12 kg|LPG 3 kg|gas kota|biogas"
        "|minyak tanah|briket|arang|kayu bakar|lainnya",
    ),
    "fasilitas_bab": (
        "Fasilitas buang air besar",
        "sendiri|bersama rumah tangga tertentu|komunal|umum|ada, tidak digunakan|tidak ada",
    ),
    "kloset": (
        "Jenis kloset",
        "leher angsa|plengsengan dengan tutup|plengsengan tanpa tutup|cemplung",
    ),
    "pembuangan_tinja": (
        "Pembuangan tinja",
        "tangki septik|IPAL|kolam/sawah/sungai/laut|lubang tanah|tanah lapang|lainnya",
    ),
}
_ZERO_BASED = {"bahan_bakar"}


def readable(code: str) -> str:
    """A name without wording of its own, as words: ``BKN_ASN_AKTIF`` -> ``Bkn asn aktif``."""
    return code.replace("_", " ").lower().capitalize()


def _feature_label(feature: str, spec: FeatureSpec) -> tuple[str, ...]:
    """``(name,)`` or ``(name, low, high)`` of a model column; onehot columns
    (``lantai_8``) read as their variable and code."""
    if feature in _FEATURES:
        return _FEATURES[feature]
    for item in (*spec.family, *spec.members, *spec.derived):
        if item.onehot is None or feature not in item.outputs():
            continue
        code = feature[len(item.name) + 1 :]
        if item.name in _CODED:
            name, labels = _CODED[item.name]
            options = labels.split("|")
            place = int(code) - (0 if item.name in _ZERO_BASED else 1)
            if 0 <= place < len(options):
                return (f"{name} {options[place]}",)
        if item.name == "provinsi":
            return (f"Provinsi tempat tinggal (kode {code})",)
    return (readable(feature),)


def factor_phrases(spec: FeatureSpec, monotone: Mapping[str, int]) -> dict[str, tuple[str, str]]:
    """Each model feature's factor in plain Indonesian: (the text when it lowered the
    score, the text when it raised it).

    A SHAP contribution says which way a feature moved the score, not the family's
    value. Where the feature's welfare direction is configured (``pmt.tuning.monotone``:
    +1 when welfare rises with the value) the sign also tells whether the value was low
    or high: floor space per person lowering the score reads "Luas lantai per orang
    kecil: menurunkan skor". Other features are named only.
    """
    directions = monotone_constraints(spec.columns, dict(monotone))
    out = {}
    for feature, direction in zip(spec.columns, directions, strict=True):
        name, *levels = _feature_label(feature, spec)
        lowers = raises = name
        if levels and direction:
            low, high = (f"{name} {level}" for level in levels)
            lowers, raises = (low, high) if direction > 0 else (high, low)
        out[feature] = (f"{lowers}: menurunkan skor", f"{raises}: menaikkan skor")
    return out


# --- the lookup table (Spark) -------------------------------------------------------


@dataclass(frozen=True)
class LookupInputs:
    """The gold tables one period's lookup is built from, already cut to the period."""

    individu: DataFrame
    """``gold/individu``: ``dtsen_individu_id``, ``dtsen_keluarga_id``, ``nik``, ``nama``,
    ``hubungan``, ``tanggal_lahir``."""
    keluarga: DataFrame
    """``gold/keluarga``: ``dtsen_keluarga_id``, ``no_kk``, ``kode_wilayah``."""
    peringkat: DataFrame
    """``gold/peringkat`` of the period."""
    peringkat_lalu: DataFrame
    """``gold/peringkat`` of the previous period (no rows in the first)."""
    penerima: DataFrame
    """``gold/penerima_program`` of the period."""
    penerima_lalu: DataFrame | None
    """``gold/penerima_program`` of the previous period; ``None`` in the first period,
    where "before" is the recipient list the allocation started from (the
    ``penerima`` flag of ``gold/keputusan_program``)."""
    keputusan: DataFrame
    """``gold/keputusan_program`` of the period."""
    kelayakan: DataFrame
    """``gold/kelayakan`` of the period."""
    faktor: DataFrame
    """``gold/peringkat_faktor`` of the period."""
    groundcheck: DataFrame
    """``gold/groundcheck`` up to the period (``ranking.groundcheck.GROUNDCHECK_SCHEMA``)."""
    antrian: DataFrame
    """``gold/antrian_groundcheck`` of the period."""
    sanggahan: DataFrame
    """``gold/sanggahan`` up to the period (:data:`SANGGAHAN_COLUMNS`)."""


SANGGAHAN_COLUMNS = (
    "periode string, tanggal date, jenis string, dtsen_individu_id string,"
    " dtsen_keluarga_id string, status string, tindak_lanjut string"
)
"""The columns of ``gold/sanggahan`` the lookup reads."""


def _literal_map(mapping: Mapping[str, str]) -> Column:
    return F.create_map(*[F.lit(x) for pair in sorted(mapping.items()) for x in pair])


def _words(code: Column) -> Column:
    """The Indonesian wording of a code column (:data:`WORDS`, else the code as words)."""
    return F.coalesce(F.try_element_at(_literal_map(WORDS), code), _as_words(code))


def _as_words(code: Column) -> Column:
    """:func:`readable` as a Column."""
    words = F.lower(F.regexp_replace(code, "_", " "))
    return F.concat(F.upper(F.substring(words, 1, 1)), F.substring(words, 2, 1 << 16))


def _reason(code: Column) -> Column:
    return F.struct(code.alias("kode"), _words(code).alias("keterangan"))


def _reasons(codes: Column) -> Column:
    return F.transform(F.array_sort(codes), _reason)


def masked_name(name: Column) -> Column:
    """Each word of a name as its initial and three stars: ``Siti Rahayu`` -> ``S*** R***``."""
    words = F.filter(F.split(F.trim(name), r"\s+"), lambda w: w != "")
    return F.array_join(
        F.transform(words, lambda w: F.concat(F.upper(F.substring(w, 1, 1)), F.lit("***"))), " "
    )


def masked_nik(nik: Column) -> Column:
    """Only the last 4 digits: ``************1234``."""
    return F.concat(F.lit("*" * 12), F.substring(nik, -4, 4))


def _sorted_list(key: str, value: Column) -> Column:
    """``collect_list`` in a fixed order: Spark's order of collection is not."""
    return F.transform(
        F.array_sort(F.collect_list(F.struct(F.col(key).alias("k"), value.alias("v")))),
        lambda e: e["v"],
    )


def _members(individu: DataFrame) -> DataFrame:
    """Every person with their place in the family: head first (``hubungan``), then by
    birth date; ``dtsen_individu_id`` is the unique tie-breaker."""
    place = Window.partitionBy(FAMILY_KEY).orderBy(
        F.asc_nulls_last("hubungan"), F.asc_nulls_last("tanggal_lahir"), PERSON_KEY
    )
    return individu.select(
        FAMILY_KEY, PERSON_KEY, "nik", "nama", "hubungan", "tanggal_lahir"
    ).withColumn("anggota_ke", F.row_number().over(place))


def _desil(peringkat: DataFrame, name: str) -> DataFrame:
    levels = ("desil_nasional", "desil_provinsi", "desil_kabkota")
    return peringkat.select(FAMILY_KEY, F.struct("periode", *levels).alias(name))


def _desil_part(inputs: LookupInputs) -> DataFrame:
    now, before = F.col("sekarang.desil_nasional"), F.col("sebelumnya.desil_nasional")
    move = (
        F.when(now.isNull(), None)
        .when(before.isNull(), "BARU")
        .when(now > before, "NAIK")
        .when(now < before, "TURUN")
        .otherwise("TETAP")
    )
    return (
        _desil(inputs.peringkat, "sekarang")
        .join(_desil(inputs.peringkat_lalu, "sebelumnya"), FAMILY_KEY, "left")
        .select(
            FAMILY_KEY, F.struct("sekarang", "sebelumnya", move.alias("perubahan")).alias("desil")
        )
    )


def _program_part(
    inputs: LookupInputs, members: DataFrame, programs: Mapping[str, str]
) -> DataFrame:
    """Every program unit of every family, with its status and reason.

    Status compares the two periods' recipients, as the movement report does
    (``ranking.movement.program_movements``): ``PENERIMA`` in both, ``MASUK`` now only,
    ``KELUAR`` before only, ``BUKAN_PENERIMA`` in neither. A recipient's reason is its
    selection reason; anyone else's is read from the period's decision: not eligible,
    past the reactivation deadline, outside the desil range, beyond the quota, or not a
    candidate at all (``TIDAK_DIPERINGKAT``).
    """
    unit = F.coalesce(PERSON_KEY, FAMILY_KEY)
    spark = members.sparkSession
    table = spark.createDataFrame(sorted(programs.items()), "program string, unit string")
    per_family = (
        members.select(FAMILY_KEY)
        .distinct()
        .crossJoin(F.broadcast(table.where(F.col("unit") == "keluarga")))
        .select(
            "program",
            FAMILY_KEY,
            F.col(FAMILY_KEY).alias("_unit"),
            F.lit(None).cast("int").alias("anggota_ke"),
        )
    )
    per_person = members.crossJoin(F.broadcast(table.where(F.col("unit") == "individu"))).select(
        "program", FAMILY_KEY, F.col(PERSON_KEY).alias("_unit"), "anggota_ke"
    )
    before = (
        inputs.keputusan.where("penerima") if inputs.penerima_lalu is None else inputs.penerima_lalu
    )
    now = inputs.penerima.select("program", unit.alias("_unit"), F.col("alasan").alias("_dipilih"))
    was = before.select("program", unit.alias("_unit"), F.lit(True).alias("_lalu")).distinct()
    decided = inputs.keputusan.select(
        "program",
        unit.alias("_unit"),
        F.lit(True).alias("_diputuskan"),
        F.coalesce("layak", F.lit(False)).alias("_layak"),
        F.coalesce("dalam_desil", F.lit(False)).alias("_dalam_desil"),
        F.col("alasan").alias("_keputusan"),
    )
    received, had = F.col("_dipilih").isNotNull(), F.col("_lalu").isNotNull()
    status = (
        F.when(received & had, PENERIMA)
        .when(received, MASUK)
        .when(had, KELUAR)
        .otherwise(BUKAN_PENERIMA)
    )
    reason = (
        F.when(received, F.col("_dipilih"))
        .when(F.col("_diputuskan").isNull(), TIDAK_DIPERINGKAT)
        .when(~F.col("_layak"), TIDAK_LAYAK)
        .when(F.col("_keputusan") == BATAS_REAKTIVASI, BATAS_REAKTIVASI)
        .when(~F.col("_dalam_desil"), DI_LUAR_DESIL)
        .otherwise(LEBIH_KUOTA)
    )
    entry = F.struct(
        "program",
        "anggota_ke",
        status.alias("status"),
        _words(status).alias("status_keterangan"),
        _reason(reason).alias("alasan"),
    )
    keyed = F.struct("program", F.coalesce("anggota_ke", F.lit(0)))
    return (
        per_family.unionByName(per_person)
        .join(now, ["program", "_unit"], "left")
        .join(was, ["program", "_unit"], "left")
        .join(decided, ["program", "_unit"], "left")
        .select(FAMILY_KEY, keyed.alias("_k"), entry.alias("_v"))
        .groupBy(FAMILY_KEY)
        .agg(_sorted_list("_k", F.col("_v")).alias("program"))
    )


def _member_part(inputs: LookupInputs, members: DataFrame) -> DataFrame:
    """The masked member list, each with their own eligibility reasons."""
    excluded = inputs.kelayakan.where(F.col(PERSON_KEY).isNotNull() & ~F.col("layak")).select(
        PERSON_KEY, _reasons(F.col("alasan")).alias("alasan_tidak_layak")
    )
    member = F.struct(
        "anggota_ke",
        masked_name(F.col("nama")).alias("nama"),
        masked_nik(F.col("nik")).alias("nik"),
        "alasan_tidak_layak",
    )
    return (
        members.join(excluded, PERSON_KEY, "left")
        .groupBy(FAMILY_KEY)
        .agg(_sorted_list("anggota_ke", member).alias("anggota"))
    )


def _kelayakan_part(inputs: LookupInputs) -> DataFrame:
    return inputs.kelayakan.where(F.col(PERSON_KEY).isNull()).select(
        FAMILY_KEY,
        F.struct("layak", _reasons(F.col("alasan")).alias("alasan")).alias("kelayakan"),
    )


def _groundcheck_part(inputs: LookupInputs, periode: str) -> DataFrame:
    visit = F.struct(
        "periode",
        F.col("tanggal_gc").cast("string").alias("tanggal"),
        _reason(F.col("hasil")).alias("hasil"),
        F.when(F.col("individu_tidak_ditemukan").isNotNull(), F.size("individu_tidak_ditemukan"))
        .otherwise(0)
        .alias("anggota_tidak_ditemukan"),
    )
    order = F.struct(F.col("tanggal_gc"), "periode", "id_gc")
    return (
        attached_visits(inputs.groundcheck, periode)
        .select(FAMILY_KEY, order.alias("_k"), visit.alias("_v"))
        .groupBy(FAMILY_KEY)
        .agg(_sorted_list("_k", F.col("_v")).alias("groundcheck"))
    )


def _antrian_part(inputs: LookupInputs) -> DataFrame:
    """The family's place in its kab/kota's ground-check queue.

    The queue is a set ranked by ``prioritas`` (ties equally urgent, see
    ``ranking.antrian``), so the place is "after the families with a smaller
    ``prioritas``, together with those of the same": counted per (kab/kota, prioritas),
    at most 44 rows per kab, never a national ordering.
    """
    # A family without a region still has a place: in the queue of "no kab/kota".
    kab = F.coalesce(F.substring("kode_wilayah", 1, 4), F.lit("")).alias("_kab")
    queued = inputs.antrian.join(inputs.keluarga.select(FAMILY_KEY, kab), FAMILY_KEY, "left")
    in_kab = Window.partitionBy("_kab")
    ahead = in_kab.orderBy("prioritas").rowsBetween(Window.unboundedPreceding, -1)
    levels = (
        queued.groupBy("_kab", "prioritas")
        .agg(F.count(F.lit(1)).alias("_sama"))
        .withColumn("_depan", F.coalesce(F.sum("_sama").over(ahead), F.lit(0)))
        .withColumn("_jumlah", F.sum("_sama").over(in_kab))
    )
    place = F.struct(
        "prioritas",
        (F.col("_depan") + 1).cast("long").alias("urutan"),
        F.col("_sama").alias("prioritas_sama"),
        F.col("_jumlah").cast("long").alias("jumlah_antrian_kabkota"),
        _reasons(F.col("alasan")).alias("alasan"),
    )
    return queued.join(levels, ["_kab", "prioritas"]).select(FAMILY_KEY, place.alias("antrian"))


def _sanggahan_part(inputs: LookupInputs, members: DataFrame, periode: str) -> DataFrame:
    """Objections still open: ``DIPROSES`` and no visit of the family in the objection's
    period or later (any visit settles one, as in ``ranking.antrian``)."""
    raised = inputs.sanggahan.where(
        (F.col("status") == OPEN_OBJECTION) & (F.col("periode") <= periode)
    ).alias("s")
    visits = attached_visits(inputs.groundcheck, periode).select(
        F.col(FAMILY_KEY).alias("_v_keluarga"), F.col("periode").alias("_v_periode")
    )
    settled = (F.col(f"s.{FAMILY_KEY}") == F.col("_v_keluarga")) & (
        F.col("_v_periode") >= F.col("s.periode")
    )
    open_ = raised.join(visits, settled, "left_anti").join(
        members.select(PERSON_KEY, "anggota_ke"), PERSON_KEY, "left"
    )
    objection = F.struct(
        F.col("tanggal").cast("string").alias("tanggal"),
        "anggota_ke",
        _reason(F.col("jenis")).alias("jenis"),
        _reason(F.col("tindak_lanjut")).alias("tindak_lanjut"),
    )
    order = F.struct("tanggal", "anggota_ke", "jenis")
    return (
        open_.select(FAMILY_KEY, order.alias("_k"), objection.alias("_v"))
        .groupBy(FAMILY_KEY)
        .agg(_sorted_list("_k", F.col("_v")).alias("sanggahan"))
    )


def _faktor_part(inputs: LookupInputs, phrases: Mapping[str, tuple[str, str]]) -> DataFrame:
    feature, contribution = F.col("feature"), F.col("contribution")
    lowers = _literal_map({k: v[0] for k, v in phrases.items()})
    raises = _literal_map({k: v[1] for k, v in phrases.items()})
    effect = F.when(contribution < 0, "menurunkan skor").otherwise("menaikkan skor")
    known = F.when(contribution < 0, F.try_element_at(lowers, feature)).otherwise(
        F.try_element_at(raises, feature)
    )
    factor = F.struct(
        F.col("rank").alias("urutan"),
        feature.alias("fitur"),
        F.round(contribution, 4).alias("kontribusi"),
        F.coalesce(known, F.concat(_as_words(feature), F.lit(": "), effect)).alias("keterangan"),
    )
    return (
        inputs.faktor.select(FAMILY_KEY, F.col("rank").alias("_k"), factor.alias("_v"))
        .groupBy(FAMILY_KEY)
        .agg(_sorted_list("_k", F.col("_v")).alias("faktor"))
    )


def family_answers(
    inputs: LookupInputs,
    periode: str,
    programs: Mapping[str, str],
    phrases: Mapping[str, tuple[str, str]],
) -> DataFrame:
    """One row per family of ``gold/individu``: ``dtsen_keluarga_id`` and ``jawaban``
    (its answer as JSON).

    Each part is aggregated per family on its own (a ``groupBy``), then joined on the
    family key: no part is collected, so the build scales like any stage.

    Args:
        inputs: the period's gold tables.
        periode: the period answered (``YYYYQn``).
        programs: program -> unit (``keluarga`` / ``individu``), ``conf/programs.yaml``.
        phrases: :func:`factor_phrases` of the model's features.
    """
    members = _members(inputs.individu)
    parts = [
        _member_part(inputs, members),
        _desil_part(inputs),
        _program_part(inputs, members, programs),
        _kelayakan_part(inputs),
        _groundcheck_part(inputs, periode),
        _antrian_part(inputs),
        _sanggahan_part(inputs, members, periode),
        _faktor_part(inputs, phrases),
    ]
    families = members.select(FAMILY_KEY).distinct()
    for part in parts:
        families = families.join(part, FAMILY_KEY, "left")
    answer = F.struct(
        F.lit(periode).alias("periode"),
        F.col(FAMILY_KEY).alias("dtsen_keluarga_id"),
        F.size("anggota").alias("jumlah_anggota"),
        "anggota",
        "desil",
        "program",
        "kelayakan",
        "groundcheck",
        "antrian",
        "sanggahan",
        "faktor",
    )
    return families.select(FAMILY_KEY, F.to_json(answer).alias("jawaban"))


def _keyed(number: Column, domain: str, secret: str) -> Column:
    return hmac_sha256(F.concat(F.lit(KEY_DOMAINS[domain]), clean_number(number)), secret)


def lookup_rows(
    inputs: LookupInputs,
    periode: str,
    programs: Mapping[str, str],
    phrases: Mapping[str, tuple[str, str]],
    secret: str,
) -> DataFrame:
    """The lookup table of ``periode``: one row per NIK of ``gold/individu``.

    Columns: ``periode``, ``bucket``, ``kunci`` (keyed hash of the NIK, unique),
    ``kunci_kk`` (of the family's KK; null without one), ``anggota_ke`` (the person's
    place in the member list) and ``jawaban`` (:func:`family_answers`). A NIK held by
    more than one person keeps one row with ``kunci_kk``, ``anggota_ke`` and ``jawaban``
    null (see the module docstring).
    """
    members = _members(inputs.individu).where(F.col("nik").isNotNull())
    key = _keyed(F.col("nik"), "nik", secret)
    same_key = Window.partitionBy("kunci")
    first = same_key.orderBy(PERSON_KEY)
    shared = F.count(F.lit(1)).over(same_key) > 1
    kk = inputs.keluarga.select(FAMILY_KEY, _keyed(F.col("no_kk"), "kk", secret).alias("_kk"))
    return (
        members.withColumn("kunci", key)
        .join(kk, FAMILY_KEY, "left")
        .join(family_answers(inputs, periode, programs, phrases), FAMILY_KEY, "left")
        .withColumn("_ganda", shared)
        .withColumn("_pertama", F.row_number().over(first) == 1)
        .where("_pertama")
        .select(
            F.lit(periode).alias("periode"),
            F.substring("kunci", 1, BUCKET_DIGITS).alias("bucket"),
            "kunci",
            F.when(~F.col("_ganda"), F.col("_kk")).alias("kunci_kk"),
            F.when(~F.col("_ganda"), F.col("anggota_ke")).cast("int").alias("anggota_ke"),
            F.when(~F.col("_ganda"), F.col("jawaban")).alias("jawaban"),
        )
    )


# --- the question (pure Python, no Spark) -------------------------------------------

_SEPARATORS = re.compile(r"[\s.\-]")


def digits(text: str) -> str:
    """A number as typed, without spaces, dots or dashes (``delivery.numbers.clean_number``)."""
    return _SEPARATORS.sub("", text.strip().upper())


def nik_problem(nik: str, reference_year: int) -> str | None:
    """Why ``nik`` cannot be a NIK, or ``None``: 16 digits, a birth date DDMMYY (+40 on
    the day for women) that exists, a serial other than 0000 (``linkage.nik``'s checks
    but the region, which needs the reference table)."""
    number = digits(nik)
    if not re.fullmatch(r"[0-9]{16}", number):
        return "NIK harus 16 angka"
    day, month, yy = int(number[6:8]), int(number[8:10]), int(number[10:12])
    year = 2000 + yy if 2000 + yy <= reference_year else 1900 + yy
    try:
        date(year, month, day - 40 if day > 40 else day)
    except ValueError:
        return "tanggal lahir dalam NIK tidak valid"
    if number[12:] == "0000":
        return "nomor urut NIK tidak valid"
    return None


def key_of(number: str, domain: str, secret: str) -> str:
    """The lookup key of a NIK or KK (``domain`` ``nik`` / ``kk``): the same HMAC the
    Spark column :func:`linkage.ids.hmac_sha256` computes."""
    message = (KEY_DOMAINS[domain] + digits(number)).encode("utf-8")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def bucket_of(key: str) -> str:
    """The partition a key's row lives in."""
    return key[:BUCKET_DIGITS]


@dataclass(frozen=True)
class Reply:
    """The answer to one question: ``ok`` with the family's answer, or a message."""

    ok: bool
    message: str
    answer: dict[str, Any] | None = None


NIK_TIDAK_VALID = "NIK tidak valid: {}."
NIK_TIDAK_DITEMUKAN = "NIK tidak ditemukan dalam DTSEN periode ini."
NIK_KK_TIDAK_COCOK = "NIK dan KK tidak cocok."
NIK_GANDA = (
    "NIK ini tercatat pada lebih dari satu orang di DTSEN; silakan hubungi dinas sosial setempat."
)


def reply(
    nik: str,
    kk: str | None,
    secret: str,
    reference_year: int,
    find: Callable[[str], Mapping[str, Any] | None],
) -> Reply:
    """Answer "what does DTSEN hold for this NIK (and KK)?" with one point read.

    Args:
        nik: as typed by the asker.
        kk: the KK as typed, or ``None`` to skip the check.
        secret: the ID secret the lookup was keyed under.
        reference_year: the century of the NIK's 2-digit year (``linkage.reference_date``).
        find: reads the row of a key (``kunci_kk``, ``anggota_ke``, ``jawaban``), or
            ``None`` when there is none.

    A wrong KK gets the same message whether the KK belongs to another family or to
    none, so the reply never tells an asker about a family that is not theirs.
    """
    problem = nik_problem(nik, reference_year)
    if problem:
        return Reply(False, NIK_TIDAK_VALID.format(problem))
    row = find(key_of(nik, "nik", secret))
    if row is None:
        return Reply(False, NIK_TIDAK_DITEMUKAN)
    if row["jawaban"] is None:
        return Reply(False, NIK_GANDA)
    if kk is not None and key_of(kk, "kk", secret) != row["kunci_kk"]:
        return Reply(False, NIK_KK_TIDAK_COCOK)
    answer = json.loads(row["jawaban"])
    answer["anggota_ke"] = row["anggota_ke"]
    return Reply(True, "", answer)


def format_answer(answer: Mapping[str, Any]) -> str:
    """The answer as the Cek DTSEN screen reads it, in Indonesian."""
    members = answer.get("anggota") or []
    asker = answer.get("anggota_ke")
    lines = [
        f"Cek DTSEN periode {answer['periode']}",
        f"ID keluarga DTSEN: {answer['dtsen_keluarga_id']}",
        f"Anggota keluarga ({answer['jumlah_anggota']} orang):",
    ]
    for m in members:
        you = " (Anda)" if m["anggota_ke"] == asker else ""
        nik = f"NIK {m['nik']}" if m.get("nik") else "tanpa NIK"
        lines.append(f"  {m['anggota_ke']}. {m.get('nama', '-')}  {nik}{you}")
        for r in m.get("alasan_tidak_layak") or []:
            lines.append(f"     tidak layak: {r['keterangan']}")
    desil = answer.get("desil") or {}
    now, before = desil.get("sekarang"), desil.get("sebelumnya")
    if now:
        lines.append(
            f"Desil {now['periode']}: nasional {now.get('desil_nasional', '-')}, "
            f"provinsi {now.get('desil_provinsi', '-')}, "
            f"kabupaten/kota {now.get('desil_kabkota', '-')} (1 = paling membutuhkan)"
        )
        if before:
            lines.append(
                f"Desil {before['periode']}: nasional {before.get('desil_nasional', '-')}, "
                f"provinsi {before.get('desil_provinsi', '-')}, "
                f"kabupaten/kota {before.get('desil_kabkota', '-')}; desil nasional "
                f"{DESIL_MOVES.get(desil.get('perubahan', ''), '-')}"
            )
    else:
        lines.append("Keluarga belum diperingkat pada periode ini.")
    lines.append("Program bantuan:")
    for p in answer.get("program") or []:
        who = f" (anggota {p['anggota_ke']})" if p.get("anggota_ke") else ""
        lines.append(
            f"  {p['program']}{who}: {p['status_keterangan']} - {p['alasan']['keterangan']}"
        )
    eligibility = answer.get("kelayakan")
    if eligibility and not eligibility["layak"]:
        reasons = "; ".join(r["keterangan"] for r in eligibility["alasan"])
        lines.append(f"Kelayakan keluarga: tidak layak ({reasons})")
    elif eligibility:
        lines.append("Kelayakan keluarga: layak")
    visits = answer.get("groundcheck") or []
    lines.append(
        "Riwayat verifikasi lapangan:" if visits else "Belum pernah diverifikasi lapangan."
    )
    for v in visits:
        lines.append(f"  {v['tanggal']}: {v['hasil']['keterangan']}")
    queue = answer.get("antrian")
    if queue:
        reasons = "; ".join(r["keterangan"] for r in queue["alasan"])
        lines.append(
            f"Antrian verifikasi lapangan: urutan {queue['urutan']} dari "
            f"{queue['jumlah_antrian_kabkota']} keluarga di kabupaten/kota "
            f"(prioritas {queue['prioritas']}, bersama {queue['prioritas_sama'] - 1} keluarga "
            f"lain dengan prioritas sama): {reasons}"
        )
    for s in answer.get("sanggahan") or []:
        who = f"anggota {s['anggota_ke']}" if s.get("anggota_ke") else "anggota keluarga"
        lines.append(
            f"Sanggahan {s['tanggal']} atas {who}: {s['jenis']['keterangan']}, "
            f"{s['tindak_lanjut']['keterangan']}"
        )
    factors = answer.get("faktor") or []
    if factors:
        lines.append("Faktor utama skor kesejahteraan (skor rendah = lebih membutuhkan):")
        lines += [f"  {f['urutan']}. {f['keterangan']}" for f in factors]
    return "\n".join(lines)
