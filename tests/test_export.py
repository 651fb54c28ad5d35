"""Data-balikan exports: pseudonyms per institution, configured columns only, manifests
that match the files, and no raw NIK, KK or name anywhere it was not configured."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from dtsen.config import load_config
from dtsen.errors import BadConfigError
from dtsen.io.exports import MANIFEST, export_folder, write_extracts
from dtsen.storage import Storage
from publish.exports import AGGREGATES, ExportInputs, Institution, extracts, select_institutions

SECRET_A = "a" * 40
INSTITUTION = Institution(
    keterangan="uji",
    lingkup="kabkota",
    kab="3310",
    tabel={
        "individu": ["pseudonim", "dasar_pseudonim", "pseudonim_keluarga", "tahun_lahir"],
        "keluarga_per_desil": ["kode_kab", "desil_nasional", "keluarga", "jiwa"],
    },
    secret_env="UNUSED",
)


def _mac(secret: str, value: str) -> str:
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


def test_pseudonyms_are_the_hmac_of_the_nik_or_the_id_and_only_the_kab_is_kept(spark):
    individu = spark.createDataFrame(
        [
            ("I1", "K1", "3310010101900001", "ANI", 2, date(1990, 1, 1), "3310010001", "P", "1"),
            ("I2", "K1", None, "BUDI", 1, date(2015, 6, 1), "3310010001", "T", "3"),
            ("I3", "K2", "3311010101800002", "CICI", 2, date(1980, 2, 2), "3311010001", "P", "1"),
        ],
        "dtsen_individu_id string, dtsen_keluarga_id string, nik string, nama string, "
        "jenis_kelamin int, tanggal_lahir date, kode_wilayah string, status_padan string, "
        "hubungan string",
    )
    keluarga = spark.createDataFrame(
        [("K1", "33100101019000XX", "3310010001", 2, "R"), ("K2", None, "3311010001", 1, "R")],
        "dtsen_keluarga_id string, no_kk string, kode_wilayah string, jumlah_anggota int, "
        "relasi string",
    )
    peringkat = spark.createDataFrame(
        [("K1", 0.1, 1, 1, 1), ("K2", 0.9, 10, 10, 10)],
        "dtsen_keluarga_id string, persentil_nasional double, desil_nasional int, "
        "desil_provinsi int, desil_kabkota int",
    )
    penerima = spark.createDataFrame(
        [],
        "program string, dtsen_keluarga_id string, dtsen_individu_id string, "
        "prioritas int, alasan string",
    )
    out = extracts(INSTITUTION, ExportInputs(individu, keluarga, peringkat, penerima), SECRET_A)
    # The KK of K1 is dirty (not 16 digits): the family falls back to its DTSEN id.
    rows = [
        (_mac(SECRET_A, "3310010101900001"), "NIK", _mac(SECRET_A, "K1"), 1990),
        (_mac(SECRET_A, "I2"), "DTSEN_ID", _mac(SECRET_A, "K1"), 2015),
    ]
    rows.sort(key=lambda r: _mac(SECRET_A, "I1" if r[1] == "NIK" else "I2"))
    expected = spark.createDataFrame(
        rows,
        "pseudonim string, dasar_pseudonim string, pseudonim_keluarga string, tahun_lahir int",
    )
    assert_df_equality(out["individu"], expected, ignore_nullable=True)
    counts = spark.createDataFrame(
        [("3310", 1, 1, 2)], "kode_kab string, desil_nasional int, keluarga long, jiwa long"
    )
    assert_df_equality(out["keluarga_per_desil"], counts, ignore_nullable=True)


def _profile(tmp_path: Path, institutions: str) -> str:
    (tmp_path / "exports.yaml").write_text(institutions, encoding="utf-8")
    return str(tmp_path / "exports.yaml")


def test_unknown_columns_tables_and_rows_for_bps_are_refused_naming_them(tmp_path, test_config):
    bad = {
        "kemensos_pkh:\n  keterangan: x\n  lingkup: program\n  program: PKH\n"
        "  secret_env: S\n  tabel: {penerima: [pseudonim, nik_ibu]}\n": r"kemensos_pkh.*nik_ibu",
        "bps:\n  keterangan: x\n  lingkup: agregat\n"
        "  tabel: {individu: [jenis_kelamin]}\n": r"bps.*'individu' holds rows",
        "bps:\n  keterangan: x\n  lingkup: agregat\n"
        "  tabel: {keluarga_per_desil: [kode_kab]}\n": r"bps.*no measure",
        "blt:\n  keterangan: x\n  lingkup: program\n  program: BLT\n"
        "  secret_env: S\n  tabel: {penerima: [prioritas]}\n": r"blt\.program: 'BLT' is not",
        "x:\n  keterangan: x\n  lingkup: kabkota\n"
        "  tabel: {keluarga: [relasi]}\n": r"x.*secret_env or secret_file",
    }
    for text, message in bad.items():
        cfg = test_config.model_copy(
            update={
                "exports": test_config.exports.model_copy(
                    update={"institutions": _profile(tmp_path, text)}
                )
            }
        )
        with pytest.raises(BadConfigError, match=message):
            cfg.institutions()


def test_weak_default_or_shared_secrets_are_refused(monkeypatch, test_config, tmp_path):
    institutions = test_config.institutions()
    chosen, _ = select_institutions(institutions, "all", "3310")
    env = {name: i.secret_env for name, i in chosen.items() if i.secret_env}
    for var in env.values():
        monkeypatch.delenv(var, raising=False)
    # Development: the per-institution defaults, all different.
    assert len(set(test_config.export_secrets(chosen).values())) == 4
    strong = test_config.model_copy(
        update={"exports": test_config.exports.model_copy(update={"strong_secrets": True})}
    )
    with pytest.raises(BadConfigError, match=r"dinsos_3310: no secret set.*development default"):
        strong.export_secrets(chosen)
    for i, var in enumerate(sorted(env.values())):
        monkeypatch.setenv(var, f"{i}-" + "k" * 40)
    assert sorted(strong.export_secrets(chosen)) == sorted(env)
    monkeypatch.setenv(env["kemensos_pbi"], "changeme")
    with pytest.raises(BadConfigError, match=r"kemensos_pbi: the secret is a default or shorter"):
        strong.export_secrets(chosen)
    monkeypatch.setenv(env["kemensos_pbi"], "0-" + "k" * 40)
    with pytest.raises(BadConfigError, match=r"share one pseudonym secret"):
        strong.export_secrets(chosen)

    # The cluster profile's production check (linkage.strong_salt) applies to exports too.
    monkeypatch.setenv("DTSEN_ID_SALT", "i" * 40)
    monkeypatch.setenv("DTSEN_SCRATCH", str(tmp_path))
    cluster = load_config("conf/cluster.yaml", warehouse="hdfs:///dtsen")
    pkh = {"kemensos_pkh": chosen["kemensos_pkh"]}
    monkeypatch.delenv(env["kemensos_pkh"])
    with pytest.raises(BadConfigError, match=r"kemensos_pkh: no secret set"):
        cluster.export_secrets(pkh)
    (tmp_path / "pkh").write_text("f" * 40 + "\n", encoding="utf-8")
    from_file = pkh["kemensos_pkh"].model_copy(update={"secret_file": str(tmp_path / "pkh")})
    assert cluster.export_secrets({"kemensos_pkh": from_file}) == {"kemensos_pkh": "f" * 40}


def test_a_failed_export_leaves_no_manifest(spark, tmp_path):
    folder = str(tmp_path / "exports" / "2025Q1" / "uji")
    good = spark.range(3).withColumn("x", F.col("id") * 2)
    first = write_extracts(spark, folder, {"a": good}, {"periode": "2025Q1"})
    assert first["tables"]["a"]["rows"] == 3
    assert (tmp_path / "exports" / "2025Q1" / "uji" / MANIFEST).is_file()
    failing = spark.range(3).select(F.raise_error(F.lit("disk full")).alias("x"))
    with pytest.raises(Exception, match="disk full"):
        write_extracts(spark, folder, {"a": good, "b": failing}, {"periode": "2025Q1"})
    assert not (tmp_path / "exports" / "2025Q1" / "uji" / MANIFEST).exists()


# --- On the small ranked register ---------------------------------------------------


@pytest.fixture(scope="module")
def exported(spark, ranked_warehouse, tmp_path_factory):
    """Every institution exported twice (the dinas for one kab/kota) into a copy
    of the ranked register: (config, storage, kab, figures, the first run's folder)."""
    from jobs.export import run

    cfg, shared, _, _ = ranked_warehouse
    root = tmp_path_factory.mktemp("exported") / "warehouse"
    shutil.copytree(shared.root, root)
    cfg = cfg.model_copy(update={"storage": cfg.storage.model_copy(update={"root": str(root)})})
    storage = Storage(spark, str(root), cfg.storage.engine)
    # The kab/kota with most PKH families: its dinas and Kemensos then share persons.
    pkh = storage.read("gold/penerima_program").where(
        (F.col("periode") == cfg.ranking.periode) & (F.col("program") == "PKH")
    )
    kab = (
        pkh.join(storage.read("gold/keluarga"), "dtsen_keluarga_id")
        .groupBy(F.substring("kode_wilayah", 1, 4).alias("kab"))
        .count()
        .orderBy(F.desc("count"), "kab")
        .first()["kab"]
    )
    run(spark, cfg, storage, "all", kab)
    first = tmp_path_factory.mktemp("first") / "exports"
    shutil.copytree(root / "exports", first)
    figures = run(spark, cfg, storage, "all", kab)
    return cfg, storage, kab, figures, first


def _folder(exported, name: str) -> Path:
    cfg, storage, _, figures, _ = exported
    return Path(export_folder(storage.root, figures["periode"], name))


def _manifest(exported, name: str) -> dict:
    return json.loads((_folder(exported, name) / MANIFEST).read_text(encoding="utf-8"))


def _read(spark, folder: Path, table: str, fmt: str, schema=None):
    path = str(folder / table / fmt)
    if fmt == "parquet":
        return spark.read.parquet(path)
    return spark.read.option("header", True).schema(schema).csv(path)


@pytest.mark.slow
def test_every_institution_gets_its_tables(exported):
    _, _, kab, figures, _ = exported
    assert figures["dilewati"] == []
    assert sorted(figures["ekspor"]) == sorted(
        ["bps", f"dinsos_{kab}", "kemensos_pbi", "kemensos_pkh", "kemensos_sembako"]
    )
    assert all(n > 0 for tables in figures["ekspor"].values() for n in tables.values())


@pytest.mark.slow
def test_the_same_person_has_another_pseudonym_per_institution_and_the_same_each_run(
    spark, exported
):
    cfg, storage, kab, figures, first = exported
    secrets = cfg.export_secrets(
        {name: i for name, i in _chosen(cfg, kab).items() if i.lingkup != "agregat"}
    )
    persons = storage.read("gold/individu").select("dtsen_individu_id", "nik").collect()
    key = {r["dtsen_individu_id"]: r["nik"] or r["dtsen_individu_id"] for r in persons}

    def who(name: str) -> dict[str, str]:
        """pseudonym -> person, for every person of the institution's individu table."""
        macs = {_mac(secrets[name], v): i for i, v in key.items()}
        frame = _read(spark, _folder(exported, name), "individu", "parquet")
        found = [r["pseudonim"] for r in frame.select("pseudonim").collect()]
        assert all(p in macs for p in found)  # each one is HMAC(NIK or id) under its key
        return {macs[p]: p for p in found}

    pkh, dinsos = who("kemensos_pkh"), who(f"dinsos_{kab}")
    both = set(pkh) & set(dinsos)
    assert both
    assert all(pkh[i] != dinsos[i] for i in both)
    assert not set(pkh.values()) & set(dinsos.values())
    # Byte for byte the same files (part names aside: they carry the write's UUID).
    for name in figures["ekspor"]:
        before = json.loads((first / figures["periode"] / name / MANIFEST).read_text())
        assert _contents(before) == _contents(_manifest(exported, name))


def _contents(manifest: dict) -> dict[str, list[tuple[str, int, str]]]:
    return {
        table: [(f["format"], f["bytes"], f["sha256"]) for f in entry["files"]]
        for table, entry in manifest["tables"].items()
    }


def _chosen(cfg, kab):
    return select_institutions(cfg.institutions(), "all", kab)[0]


@pytest.mark.slow
def test_manifests_match_the_files_and_csv_holds_the_parquet_rows(spark, exported):
    _, _, _, figures, _ = exported
    for name in figures["ekspor"]:
        folder = _folder(exported, name)
        manifest = _manifest(exported, name)
        assert manifest["periode"] == figures["periode"]
        assert manifest["institution"] == name
        assert set(manifest["source_versions"]) == {
            "gold/individu",
            "gold/keluarga",
            "gold/peringkat",
            "gold/penerima_program",
        }
        listed = []
        for table, entry in manifest["tables"].items():
            parquet = _read(spark, folder, table, "parquet")
            csv = _read(spark, folder, table, "csv", parquet.schema)
            assert entry["columns"] == [
                {"name": f.name, "type": f.dataType.simpleString()} for f in parquet.schema
            ]
            assert entry["rows"] == parquet.count() == csv.count()
            assert_df_equality(csv, parquet, ignore_row_order=True, ignore_nullable=True)
            assert {f["format"] for f in entry["files"]} == {"parquet", "csv"}
            for f in entry["files"]:
                data = (folder / f["path"]).read_bytes()
                assert (f["bytes"], f["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
            listed += [f["path"] for f in entry["files"]]
        on_disk = sorted(
            str(p.relative_to(folder))
            for p in folder.rglob("*")
            if p.is_file() and not p.name.startswith(("_", ".")) and p.name != MANIFEST
        )
        assert sorted(listed) == on_disk


@pytest.mark.slow
def test_the_dinas_gets_its_own_kab_only_and_bps_counts_only(spark, exported):
    _, storage, kab, figures, _ = exported
    dinsos = _folder(exported, f"dinsos_{kab}")
    persons = storage.read("gold/individu").where(F.col("kode_wilayah").startswith(kab))
    families = storage.read("gold/keluarga").where(F.col("kode_wilayah").startswith(kab))
    rows = figures["ekspor"][f"dinsos_{kab}"]
    assert (rows["individu"], rows["keluarga"]) == (persons.count(), families.count())
    for table in rows:
        frame = _read(spark, dinsos, table, "parquet")
        assert frame.where(~F.col("kode_wilayah").startswith(kab)).count() == 0

    bps = _manifest(exported, "bps")["tables"]
    catalogue = {t: set(a.keys) | set(a.measures) for t, a in AGGREGATES.items()}
    assert {t: {c["name"] for c in e["columns"]} <= catalogue[t] for t, e in bps.items()} == {
        t: True for t in bps
    }
    counts = _read(spark, _folder(exported, "bps"), "keluarga_per_desil", "parquet")
    total = counts.agg(F.sum("keluarga"), F.sum("jiwa")).first()
    gold = storage.read("gold/keluarga").agg(F.count(F.lit(1)), F.sum("jumlah_anggota")).first()
    assert tuple(total) == tuple(gold)
    programs = _read(spark, _folder(exported, "bps"), "penerima_per_program", "parquet")
    per_program = {r[0]: r[1] for r in programs.groupBy("program").agg(F.sum("penerima")).collect()}
    penerima = storage.read("gold/penerima_program").where(F.col("periode") == figures["periode"])
    assert per_program == {r[0]: r[1] for r in penerima.groupBy("program").count().collect()}


def _identifiers(storage) -> dict[str, set[bytes]]:
    """Every raw NIK, KK and full name of the register (1,500 persons: collected)."""
    persons = storage.read("gold/individu").select("nik", "nama").collect()
    kk = storage.read("gold/keluarga").select("no_kk").collect()
    return {
        "nik": {r["nik"].encode() for r in persons if r["nik"]},
        "no_kk": {r["no_kk"].encode() for r in kk if r["no_kk"]},
        # Full names (two words or more): a one-word name such as ``ANI`` may occur
        # inside ordinary text and would prove nothing.
        "nama": {r["nama"].encode() for r in persons if r["nama"] and " " in r["nama"].strip()},
    }


def _leaks(folder: Path, identifiers: dict[str, set[bytes]]) -> dict[str, list[str]]:
    """File -> the kinds of identifier found in its bytes, for every file below ``folder``."""
    found = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        kinds = [kind for kind, values in identifiers.items() if any(v in data for v in values)]
        if kinds:
            found[str(path.relative_to(folder))] = kinds
    return found


@pytest.mark.slow
def test_no_raw_nik_kk_or_name_in_any_exported_file(spark, exported, tmp_path):
    from jobs.export import run

    cfg, storage, _, figures, _ = exported
    identifiers = _identifiers(storage)
    assert [len(identifiers[k]) > 300 for k in ("nik", "no_kk", "nama")] == [True] * 3
    exports = Path(storage.root) / "exports"
    assert len([p for p in exports.rglob("*") if p.is_file()]) > 40
    assert _leaks(exports, identifiers) == {}

    # The scan finds them where they are configured: an institution given nik and nama.
    profile = _profile(
        tmp_path,
        "kontrol:\n  keterangan: x\n  lingkup: kabkota\n  kab: '"
        + exported[2]
        + "'\n  secret_env: S_KONTROL\n  dev_secret: kontrol-dev\n"
        "  tabel: {individu: [nik, nama, jenis_kelamin]}\n",
    )
    control = cfg.model_copy(
        update={"exports": cfg.exports.model_copy(update={"institutions": profile})}
    )
    run(spark, control, storage, "kontrol")
    folder = _folder(exported, f"kontrol_{exported[2]}")
    leaks = _leaks(folder, identifiers)
    csv = {k: v for k, v in leaks.items() if "/csv/" in k}
    assert {kind for kinds in csv.values() for kind in kinds} == {"nik", "nama"}
    assert all(k.startswith("individu/") for k in leaks)
