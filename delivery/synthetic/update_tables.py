"""The update delivery's tables, exactly per ``shared/contract/updates.md``, and its truth.

Every table is a projection of the quarter's person frame (:func:`quarter.advance`) and
of its records (:func:`update_records.records`): CSV tables as text-line frames with the
first period's line dirt (:func:`assemble.csv_lines`) and NIKs written by
:func:`assemble.written_nik`; Dukcapil, admin, programme and truth tables through the
first period's own builders where the schema is the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from delivery.synthetic import tables
from delivery.synthetic.assemble import csv_lines, written_nik
from delivery.synthetic.population import ChunkContext
from delivery.synthetic.quarter import EVENTS, advance
from delivery.synthetic.settings import UpdateConfig
from delivery.synthetic.update_records import records
from delivery.variables import FAMILY_VARIABLES, MEMBER_VARIABLES


@dataclass(frozen=True)
class Update:
    """The quarter's persons (the truth) and the records delivered about them."""

    persons: DataFrame
    records: DataFrame


def derive(ctx: ChunkContext, pop: DataFrame, rates: UpdateConfig) -> Update:
    """The next quarter of ``pop`` (the first period's person frame), checkpointed on disk
    (local checkpoints: released with the session)."""
    persons = advance(ctx, pop, rates)
    return Update(persons, records(ctx, persons, rates))


_IDENTITY = ("person_key", "person_id", "nik", "position", "nik_kepala", "nik_kedua", "nik_ganda")


def _of(update: Update, tabel: str, *values: str) -> DataFrame:
    """``tabel``'s records with the person each is about: identity and ``values``."""
    person = update.persons.select(*_IDENTITY, "jenis_kelamin", *values)
    return update.records.where(F.col("tabel") == tabel).join(person, "person_key", "left")


def _pelapor(rows: DataFrame, update: Update) -> DataFrame:
    """Add ``nik_pelapor`` and ``pelapor_id``: the reporter's (or proposer's) NIK and person."""
    reporters = update.persons.select(
        F.col("person_key").alias("pelapor_key"),
        F.col("nik").alias("nik_pelapor"),
        F.col("person_id").alias("pelapor_id"),
    )
    return rows.join(reporters, "pelapor_key", "left")


def _day(column: str) -> Column:
    return F.date_format(column, "yyyy-MM-dd")


def _as_written(*names: str) -> dict[str, Column]:
    """Columns of the form as typed (the records' ``<name>_u``)."""
    return {name: F.col(f"{name}_u") for name in names}


def _member() -> dict[str, Column]:
    """A member's identity as written on a field or proposal form."""
    return {
        "nik": written_nik("u"),
        "nama": F.col("nama_u"),
        "jenis_kelamin": F.col("jenis_kelamin"),
        "tanggal_lahir": F.col("tgl_u"),
        "hubungan_kk": F.col("hubungan_kk"),
    }


def _observed(names: tuple[str, ...]) -> dict[str, Column]:
    """Variables as the ground check wrote them, only where it observed them."""
    return {name: F.when(F.col("diamati"), tables.variable_value(name)) for name in names}


# ------------------------------------------------------------------------ delivered


def dukcapil_penduduk(update: Update) -> DataFrame:
    """The fresh, complete civil-registry extract (the first period's schema)."""
    return tables.dukcapil_penduduk(update.persons)


def groundcheck_keluarga(update: Update) -> DataFrame:
    rows = _of(update, "groundcheck_keluarga", *FAMILY_VARIABLES)
    columns = {
        "id_gc": F.col("id_record"),
        "tanggal_gc": _day("tanggal"),
        "dtsen_keluarga_id": F.col("dtsen_keluarga_id"),
        "id_usulan": F.col("id_usulan"),
        **_as_written("no_kk", "kode_wilayah", "alamat", "rt", "rw"),
        "hasil": F.col("hasil"),
        **_observed(FAMILY_VARIABLES),
    }
    return csv_lines(rows, columns, ",", "u", numeric="rt", code="lantai")


def groundcheck_individu(update: Update) -> DataFrame:
    rows = _of(update, "groundcheck_individu", *MEMBER_VARIABLES)
    columns = {
        "id_gc": F.col("id_record"),
        "id_anggota_gc": F.col("id_anggota"),
        **_member(),
        "status": F.col("status_anggota"),
        **_observed(MEMBER_VARIABLES),
    }
    return csv_lines(rows, columns, ",", "u", numeric="jenis_kelamin", code="pendidikan")


def usulan_keluarga(update: Update) -> DataFrame:
    rows = _pelapor(_of(update, "usulan_keluarga"), update)
    columns = {
        "id_usulan": F.col("id_record"),
        "tanggal": _day("tanggal"),
        "jalur": F.col("jalur"),
        "nik_pengusul": F.col("nik_pelapor"),
        **_as_written("no_kk", "kode_wilayah", "alamat"),
        "disahkan_kepala_daerah": F.col("disahkan"),
        "program": F.col("program"),
    }
    return csv_lines(rows, columns, ",", "u", numeric="disahkan_kepala_daerah", code="jalur")


def usulan_individu(update: Update) -> DataFrame:
    rows = _of(update, "usulan_individu")
    columns = {
        "id_usulan": F.col("id_record"),
        "id_anggota_usulan": F.col("id_anggota"),
        **_member(),
    }
    return csv_lines(rows, columns, ",", "u", numeric="jenis_kelamin", code="hubungan_kk")


def sanggahan(update: Update) -> DataFrame:
    rows = _pelapor(_of(update, "sanggahan"), update)
    columns = {
        "id_sanggahan": F.col("id_record"),
        "tanggal": _day("tanggal"),
        "nik_pelapor": F.col("nik_pelapor"),
        "nik_sasaran": written_nik("u"),
        "jenis": F.col("jenis"),
        "keterangan": F.col("keterangan"),
    }
    return csv_lines(rows, columns, ",", "u", numeric="", code="jenis")


def _reaktivasi_columns() -> dict[str, Column]:
    return {
        "nik": written_nik("u"),
        "tanggal": _day("tanggal"),
        "alasan": F.col("alasan"),
        "surat_dinsos": F.col("surat_dinsos"),
        "surat_faskes": F.col("surat_faskes"),
    }


def reaktivasi(update: Update) -> DataFrame:
    rows = _of(update, "reaktivasi")
    return csv_lines(rows, _reaktivasi_columns(), ",", "u", numeric="surat_dinsos", code="alasan")


def _of_persons(build: Callable[[DataFrame], DataFrame]) -> Callable[[Update], DataFrame]:
    """A first-period table builder applied to the quarter's persons."""
    return lambda update: build(update.persons)


# ------------------------------------------------------------------------------ truth


def truth_individu(update: Update) -> DataFrame:
    """Every NIK of the extract, ground-check member and proposed member -> ``person_id``."""
    out = tables.dukcapil_truth_individu(update.persons)
    for tabel, sumber in (("groundcheck_individu", "groundcheck"), ("usulan_individu", "usulan")):
        out = out.unionByName(
            _of(update, tabel).select(
                F.lit(sumber).alias("sumber"), F.col("id_anggota").alias("id_record"), "person_id"
            )
        )
    return out


def truth_keluarga(update: Update) -> DataFrame:
    """Every KK of the extract, visit and proposal -> the ``family_id`` it is about."""
    out = tables.dukcapil_truth_keluarga(update.persons)
    for tabel, sumber in (("groundcheck_keluarga", "groundcheck"), ("usulan_keluarga", "usulan")):
        out = out.unionByName(
            update.records.where(F.col("tabel") == tabel).select(
                F.lit(sumber).alias("sumber"), F.col("id_record").alias("id_keluarga"), "family_id"
            )
        )
    return out


def truth_kesejahteraan(update: Update) -> DataFrame:
    """The period's current families (a living member): true per-capita expenditure."""
    return tables.truth_kesejahteraan(update.persons.where("status = 'AKTIF'"))


def truth_peristiwa(update: Update) -> DataFrame:
    """The quarter's events: ``peristiwa`` (``REGISTRASI``, ``MENINGGAL``, ``LAHIR``,
    ``PECAH``: took a new KK, ``PINDAH``: moved kab/kota, ``KESEJAHTERAAN``: the family's
    welfare changed, ``PBI_DIKELUARKAN``: dropped from PBI-JK), the person, the family now
    and the family in the first period."""
    out = None
    flags = {event.upper(): f"ev_{event}" for event in EVENTS} | {
        "PBI_DIKELUARKAN": "pbi_dikeluarkan"
    }
    for event, flag in flags.items():
        rows = update.persons.where(F.col(flag)).select(
            F.lit(event).alias("peristiwa"),
            F.col("person_id"),
            F.col("family_id"),
            F.col("family_id_awal"),
        )
        out = rows if out is None else out.unionByName(rows)
    return out


def truth_usulan(update: Update) -> DataFrame:
    """Per proposal: the family, whether it is already in the register, where it comes from
    (``asal``), whether it was also proposed the other way and whether a visit verified it."""
    return update.records.where(F.col("tabel") == "usulan_keluarga").select(
        F.col("id_record").alias("id_usulan"),
        "family_id",
        "sudah_terdaftar",
        "asal",
        "jalur",
        "ganda",
        "diverifikasi",
    )


def truth_sanggahan(update: Update) -> DataFrame:
    """Per objection: whether it is right, and whom it is about and from."""
    rows = _pelapor(_of(update, "sanggahan"), update)
    return rows.select(
        F.col("id_record").alias("id_sanggahan"),
        "jenis",
        "benar",
        "person_id",
        "family_id",
        "pelapor_id",
    )


def truth_reaktivasi(update: Update) -> DataFrame:
    """Per request (keyed as delivered): the person, and whether they were a PBI-JK member
    in the first period and dropped this quarter."""
    columns = _reaktivasi_columns()
    return _of(update, "reaktivasi").select(
        columns["nik"].alias("nik"),
        columns["tanggal"].alias("tanggal"),
        "person_id",
        F.col("pbi_awal").alias("pbi_sebelumnya"),
        "dikeluarkan",
        ((F.col("surat_dinsos") == 1) & (F.col("surat_faskes") == 1)).alias("surat_lengkap"),
    )


CSV_TABLES: dict[str, Callable[[Update], DataFrame]] = {
    "groundcheck/keluarga": groundcheck_keluarga,
    "groundcheck/individu": groundcheck_individu,
    "usulan/keluarga": usulan_keluarga,
    "usulan/individu": usulan_individu,
    "sanggahan/sanggahan": sanggahan,
    "program/reaktivasi": reaktivasi,
    **{
        name: _of_persons(tables.CSV_TABLES[name])
        for name in (
            "program/penerima",
            "admin/pln",
            "admin/bkn",
            "admin/bpjs_ketenagakerjaan",
            "admin/samsat",
            "admin/negatif",
        )
    },
}
TRUTH_TABLES: dict[str, Callable[[Update], DataFrame]] = {
    "_truth/individu": truth_individu,
    "_truth/keluarga": truth_keluarga,
    "_truth/kesejahteraan": truth_kesejahteraan,
    "_truth/peristiwa": truth_peristiwa,
    "_truth/usulan": truth_usulan,
    "_truth/sanggahan": truth_sanggahan,
    "_truth/reaktivasi": truth_reaktivasi,
}
