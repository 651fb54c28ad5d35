"""Ingest on hand-written deliveries: every kind of bad input, accounting, idempotence."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from delivery.ingestion.mapping import SourceMapping
from dtsen.config import Config
from dtsen.errors import BadDeliveryError
from dtsen.io.delivery import Delivery
from dtsen.storage import Storage
from dtsen.storage.bronze import ingest_table

TODAY = dt.date(2025, 6, 30)
HEADER = (
    "id_individu,id_keluarga,nik,nama,jenis_kelamin,tempat_lahir,tanggal_lahir,hubungan_kk,"
    "status_kawin,partisipasi_sekolah,pendidikan,bekerja,lapangan_usaha,status_pekerjaan,"
    "punya_usaha,disabilitas,penyakit_kronis"
)
GOOD = "I1,K1,3201014101800001,Siti Aminah,2,Bogor,1980-01-01,2,2,2,4,1,6,1,0,0,0"
ROWS = {
    "good": GOOD,
    "quoted": 'I2,K1,,"Drs. Budi, S.Pd.",1,Bogor,1965,1,2,2,6,1,14,5,0,0,0',
    "extra_field": "I3,K1,,Ani,2,Bogor,2001-05-05,3,1,1,4,0,,,0,0,0,X",
    "text_number": "I4,K1,,Ana,dua,Bogor,2001-05-05,3,1,1,4,0,,,0,0,0",
    "bad_date": "I5,K1,,Ina,2,Bogor,2019-02-30,3,1,1,1,0,,,0,0,0",
    "bad_code": "I6,K1,,Uni,2,Bogor,2001-05-05,3,1,1,9,0,,,0,0,0",
    "future_date": "I7,K1,,Eni,2,Bogor,2031-05-05,3,1,1,1,0,,,0,0,0",
    "no_key": ",K1,,Oni,2,Bogor,2001-05-05,3,1,1,1,0,,,0,0,0",
    "duplicate_row": GOOD,
    "duplicate_key": "I1,K9,,Someone Else,1,Bogor,1990-01-01,1,2,2,4,1,6,1,0,0,0",
}
EXPECTED_REASONS = {
    "extra_field": "COLUMN_COUNT",
    "no_key": "MISSING_VALUE:id_individu",
    "duplicate_row": "DUPLICATE_ROW",
    "duplicate_key": "DUPLICATE_KEY",
    "bad_bytes": "INVALID_ENCODING",
    "blank": "EMPTY_LINE",
}


@pytest.fixture(scope="module")
def mapping(test_config: Config) -> SourceMapping:
    return test_config.source_mapping()


@pytest.fixture()
def storage(spark: SparkSession, tmp_path: Path) -> Storage:
    return Storage(spark, str(tmp_path / "warehouse"))


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _delivery_with_bad_rows(root: Path) -> None:
    body = "\n".join([HEADER, *ROWS.values()]).encode()
    body += b"\nI8,K1,,N\xffna,2,Bogor,2001-05-05,3,1,1,1,0,,,0,0,0\n   \n"
    _write(root / "regsosek" / "individu.csv", body)


def _run(spark, storage, root, mapping, table, batch="b1"):
    return ingest_table(
        spark, storage, Delivery(spark, str(root)), table, mapping.tables[table], batch, TODAY
    )


def test_structural_faults_quarantine_bad_values_are_nulled(
    spark, storage, tmp_path, mapping
) -> None:
    root = tmp_path / "delivery"
    _delivery_with_bad_rows(root)
    report = _run(spark, storage, root, mapping, "regsosek_individu")

    assert (report.read, report.accepted, report.quarantined) == (12, 6, 6)
    assert report.balanced
    assert report.nulled == {
        "NOT_A_NUMBER:jenis_kelamin": 1,
        "NOT_A_DATE:tanggal_lahir": 1,
        "CODE_OUT_OF_RANGE:pendidikan": 1,
        "DATE_OUT_OF_RANGE:tanggal_lahir": 1,
    }
    bronze = storage.read("bronze/regsosek_individu").select(
        "id_individu",
        "nama",
        "jenis_kelamin",
        "tanggal_lahir",
        "pendidikan",
        "lapangan_usaha",
        "_invalid",
        "_ingest_batch",
        "_source_file",
    )
    source = "regsosek/individu.csv"
    may = dt.date(2001, 5, 5)
    expected = spark.createDataFrame(
        [
            ("I1", "Siti Aminah", 2, dt.date(1980, 1, 1), 4, 6, [], "b1", source),
            # Quoted comma kept inside the name; a bare year is a default date, 1 January.
            ("I2", "Drs. Budi, S.Pd.", 1, dt.date(1965, 1, 1), 6, 14, [], "b1", source),
            # One bad field: that field is null, the row and its other values are kept.
            ("I4", "Ana", None, may, 4, None, ["NOT_A_NUMBER:jenis_kelamin"], "b1", source),
            ("I5", "Ina", 2, None, 1, None, ["NOT_A_DATE:tanggal_lahir"], "b1", source),
            ("I6", "Uni", 2, may, None, None, ["CODE_OUT_OF_RANGE:pendidikan"], "b1", source),
            ("I7", "Eni", 2, None, 1, None, ["DATE_OUT_OF_RANGE:tanggal_lahir"], "b1", source),
        ],
        bronze.schema,
    )
    assert_df_equality(bronze, expected, ignore_row_order=True, ignore_nullable=True)

    quarantine = storage.read("quarantine/regsosek_individu")
    reasons = {r["_raw"]: r["_reason"] for r in quarantine.collect()}
    raw_of = {
        **ROWS,
        "bad_bytes": "I8,K1,,N\ufffdna,2,Bogor,2001-05-05,3,1,1,1,0,,,0,0,0",
        "blank": "   ",
    }
    assert sorted(reasons.values()) == sorted(EXPECTED_REASONS.values())
    for kind, reason in EXPECTED_REASONS.items():
        if kind not in ("duplicate_row",):
            assert reasons[raw_of[kind]] == reason, kind
    assert {r["_source_file"] for r in quarantine.collect()} == {"regsosek/individu.csv"}


def test_reingesting_a_batch_replaces_it(spark, storage, tmp_path, mapping) -> None:
    root = tmp_path / "delivery"
    _delivery_with_bad_rows(root)
    first = _run(spark, storage, root, mapping, "regsosek_individu")
    again = _run(spark, storage, root, mapping, "regsosek_individu")
    other = _run(spark, storage, root, mapping, "regsosek_individu", batch="b2")

    assert (again.accepted, again.quarantined) == (first.accepted, first.quarantined)
    per_batch = {
        r["_ingest_batch"]: r["count"]
        for r in storage.read("bronze/regsosek_individu").groupBy("_ingest_batch").count().collect()
    }
    assert per_batch == {"b1": 6, "b2": 6}
    assert other.accepted == 6
    assert storage.version("bronze/regsosek_individu") == 2


def test_part_files_with_semicolons_and_headers(spark, storage, tmp_path, mapping) -> None:
    header = (
        "ID_DTKS;ID_KELUARGA;NIK;NOKK;NAMA;JNS_KEL;TGL_LAHIR;HUB_KEL;KODE_WILAYAH;ALAMAT;"
        "D1_TEMPAT_BERTEDUH;D2_KK_BEKERJA;D3_KHAWATIR_MAKAN;D4_PANGAN_GT50;D5_BELI_PAKAIAN;"
        "D6_LANTAI_TANAH;D7_DINDING_BAMBU;D8_BAB_SENDIRI;D9_LISTRIK_450;PKH;SEMBAKO;PBI"
    )
    part1 = (
        "D1;F1;3201015005900002;3201010101100001;SITI;P;10-05-1990;2;3201010001;"
        "JL. MAWAR NO. 3 RT 001/RW 002;1;1;0;0;1;0;0;1;0;1;1;1"
    )
    part2 = 'D2;F1;;;"ANI; S.E.";X;31-12-1999;3;3201010001;JL. MAWAR;1;1;0;0;1;0;0;1;0;1;1;1'
    _write(tmp_path / "d" / "dtks" / "dtks" / "part-00000.csv", f"{header}\n{part1}\n".encode())
    _write(tmp_path / "d" / "dtks" / "dtks" / "part-00001.csv", f"{header}\n{part2}\n".encode())
    _write(tmp_path / "d" / "dtks" / "dtks" / "_SUCCESS", b"")
    report = _run(spark, storage, tmp_path / "d", mapping, "dtks_dtks")

    assert (report.read, report.accepted, report.quarantined) == (2, 2, 0)
    assert report.nulled == {"CODE_OUT_OF_RANGE:JNS_KEL": 1}
    rows = storage.read("bronze/dtks_dtks").orderBy("ID_DTKS").collect()
    assert [
        (r["ID_DTKS"], r["NAMA"], r["JNS_KEL"], r["TGL_LAHIR"], r["_source_file"]) for r in rows
    ] == [
        ("D1", "SITI", "P", dt.date(1990, 5, 10), "dtks/dtks/part-00000.csv"),
        ("D2", "ANI; S.E.", None, dt.date(1999, 12, 31), "dtks/dtks/part-00001.csv"),
    ]


def test_parquet_rows_are_validated_and_kept_as_json(spark, storage, tmp_path, mapping) -> None:
    schema = T.StructType(
        [
            T.StructField("NIK", T.StringType()),
            T.StructField("NO_KK", T.StringType()),
            T.StructField("NAMA_LGKP", T.StringType()),
            T.StructField("JENIS_KLMIN", T.IntegerType()),
            T.StructField("TMPT_LHR", T.StringType()),
            T.StructField("TGL_LHR", T.DateType()),
            T.StructField("STAT_HBKEL", T.IntegerType()),
            T.StructField("STATUS_KAWIN", T.IntegerType()),
            T.StructField("ALAMAT", T.StringType()),
            T.StructField("NO_RT", T.IntegerType()),
            T.StructField("NO_RW", T.IntegerType()),
            T.StructField("KODE_WILAYAH", T.StringType()),
            T.StructField("STATUS", T.StringType()),
        ]
    )
    born = dt.date(1980, 1, 1)
    rows = [
        (
            "3201014101800001",
            "3201010101100001",
            "SITI",
            2,
            "BOGOR",
            born,
            1,
            2,
            "JL. A",
            1,
            2,
            "3201010001",
            "AKTIF",
        ),
        (
            "3201010101800002",
            "3201010101100001",
            "BUDI",
            3,
            "BOGOR",
            born,
            2,
            2,
            "JL. A",
            1,
            2,
            "3201010001",
            "AKTIF",
        ),
        (
            "3201010101800003",
            None,
            "ALI",
            1,
            "BOGOR",
            born,
            3,
            1,
            "JL. A",
            1,
            2,
            "3201010001",
            "HILANG",
        ),
    ]
    spark.createDataFrame(rows, schema).coalesce(1).write.parquet(
        str(tmp_path / "d" / "dukcapil" / "penduduk")
    )
    report = _run(spark, storage, tmp_path / "d", mapping, "dukcapil_penduduk")

    assert (report.read, report.accepted, report.quarantined) == (3, 3, 0)
    assert report.nulled == {"CODE_OUT_OF_RANGE:JENIS_KLMIN": 1, "CODE_OUT_OF_RANGE:STATUS": 1}
    accepted = storage.read("bronze/dukcapil_penduduk").orderBy("NIK")
    assert [
        (r["NIK"], r["JENIS_KLMIN"], r["STATUS"], r["_invalid"]) for r in accepted.collect()
    ] == [
        ("3201010101800002", None, "AKTIF", ["CODE_OUT_OF_RANGE:JENIS_KLMIN"]),
        ("3201010101800003", 1, None, ["CODE_OUT_OF_RANGE:STATUS"]),
        ("3201014101800001", 2, "AKTIF", []),
    ]
    assert dict(accepted.dtypes)["TGL_LHR"] == "date"


def test_missing_required_column_names_file_and_column(spark, storage, tmp_path, mapping) -> None:
    _write(
        tmp_path / "d" / "p3ke" / "individu.csv", b"id_individu_p3ke,id_keluarga_p3ke,nik\nA,B,C\n"
    )
    with pytest.raises(
        BadDeliveryError,
        match=r"p3ke/individu/individu.csv: missing required column 'nama_lengkap'",
    ):
        _run(spark, storage, tmp_path / "d", mapping, "p3ke_individu")


def _full_delivery(root: Path, mapping: SourceMapping) -> None:
    """Every mapped table as a header-only CSV (Parquet tables left out)."""
    for spec in mapping.tables.values():
        if spec.format == "csv":
            _write(root / f"{spec.path}.csv", spec.delimiter.join(spec.columns).encode() + b"\n")


@pytest.mark.parametrize(
    ("layout", "named"),
    [
        ("no_source", r"dtks/dtks \(no dtks/ at all\)"),
        ("no_table", r"p3ke/keluarga \(a source"),
        ("empty_file", r"p3ke/keluarga \(only empty files: no header\)"),
    ],
)
def test_a_missing_table_or_source_fails_ingest_naming_it(
    spark, test_config, tmp_path, mapping, layout, named
) -> None:
    from jobs.ingest import run as ingest

    root = tmp_path / "d"
    _full_delivery(root, mapping)
    if layout == "no_source":
        shutil.rmtree(root / "dtks")
    elif layout == "no_table":
        (root / "p3ke" / "keluarga.csv").unlink()
    else:
        _write(root / "p3ke" / "keluarga.csv", b"")
    cfg = test_config.model_copy(
        update={
            "input": str(root),
            "ingest": test_config.ingest.model_copy(update={"absent": ["dukcapil"]}),
        }
    )
    store = Storage(spark, str(tmp_path / "w"))
    with pytest.raises(BadDeliveryError, match=rf"not delivered: {named}.*ingest\.absent"):
        ingest(spark, cfg, store)
    assert not store.exists("meta/ingest_batch")


def test_a_source_declared_absent_is_written_empty(spark, test_config, tmp_path, mapping, caplog):
    from jobs.ingest import run as ingest

    root = tmp_path / "d"
    _full_delivery(root, mapping)
    shutil.rmtree(root / "admin")
    cfg = test_config.model_copy(
        update={
            "input": str(root),
            "ingest": test_config.ingest.model_copy(update={"absent": ["admin", "dukcapil"]}),
        }
    )
    store = Storage(spark, str(tmp_path / "w"))
    with caplog.at_level(logging.WARNING, logger="dtsen.ingest"):
        reports = ingest(spark, cfg, store)
    assert "admin_pln: source declared absent" in caplog.text
    by_table = {r.table: (r.read, r.accepted, r.quarantined) for r in reports}
    assert by_table["admin_pln"] == by_table["dukcapil_penduduk"] == (0, 0, 0)
    bronze = store.read("bronze/admin_pln")
    assert bronze.count() == 0 and {"_invalid", "_ingest_batch"} <= set(bronze.columns)


def test_bom_quoted_header_and_line_breaks_inside_quotes(spark, storage, tmp_path, mapping):
    header = '"kode","nama","tingkat"'
    body = (
        "\ufeff" + header + "\n"
        '32,"JAWA\nBARAT",prov\n'
        "3201,BOGOR,kab\n"
        '3201010,"CI""BINONG\n\nSELATAN",kec\n'
        "3201010001,DESA,desa\n"
    )
    _write(tmp_path / "d" / "referensi" / "wilayah.csv", body.encode())
    report = _run(spark, storage, tmp_path / "d", mapping, "referensi_wilayah")
    assert (report.read, report.accepted, report.quarantined) == (4, 4, 0)
    rows = storage.read("bronze/referensi_wilayah").orderBy("kode").collect()
    assert [(r["kode"], r["nama"], r["tingkat"]) for r in rows] == [
        ("32", "JAWA\nBARAT", "prov"),
        ("3201", "BOGOR", "kab"),
        ("3201010", 'CI"BINONG\n\nSELATAN', "kec"),
        ("3201010001", "DESA", "desa"),
    ]


@pytest.mark.parametrize(
    ("table", "path", "data", "why"),
    [
        (
            "dukcapil_penduduk",
            "dukcapil/penduduk.parquet",
            b"PAR1\x15\x04\x15\x10\x15",
            "truncated Parquet file",
        ),
        ("dukcapil_penduduk", "dukcapil/penduduk.parquet", b"NIK,NAMA\n1,A\n", "not a Parquet"),
        ("referensi_ump", "referensi/ump.csv", b"PAR1\x00\x00PAR1", "a Parquet file where"),
    ],
)
def test_an_unreadable_file_fails_in_one_line(
    spark, storage, tmp_path, mapping, table, path, data, why
):
    _write(tmp_path / "d" / path, data)
    with pytest.raises(
        BadDeliveryError, match=rf"^{path.split('.')[0]}/{path.split('/')[1]}: {why}"
    ):
        _run(spark, storage, tmp_path / "d", mapping, table)


def test_header_only_file_is_an_empty_table(spark, storage, tmp_path, mapping) -> None:
    _write(tmp_path / "d" / "referensi" / "ump.csv", b"kode_prov,ump\n")
    report = _run(spark, storage, tmp_path / "d", mapping, "referensi_ump")
    assert (report.read, report.accepted, report.quarantined) == (0, 0, 0)
    assert storage.read("bronze/referensi_ump").where(F.col("_ingest_batch") == "b1").count() == 0
