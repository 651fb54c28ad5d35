"""The generator's update delivery: layout, events, field work, truth, determinism, ingest.

One tiny population (400 persons) with the quarter's rates raised, so that every kind
of event and record occurs in it; the delivery is generated twice with the same seed.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import SparkSession

from delivery.synthetic.quarter import next_periode
from delivery.synthetic.settings import HASIL, JENIS_SANGGAHAN
from dtsen.config import Config, load_config
from dtsen.errors import BadConfigError
from dtsen.storage import Storage

pytestmark = pytest.mark.slow

RAISED = {
    "death_under_60": 0.01,
    "death_60_74": 0.06,
    "death_75_plus": 0.15,
    "birth": 0.03,
    "kk_split": 0.4,
    "move": 0.04,
    "welfare_change": 0.2,
    "pbi_drop_upper": 0.5,
    "pbi_drop": 0.1,
    "groundcheck": 0.3,
    "groundcheck_hasil": "{DITEMUKAN: 0.6, ALAMAT_TIDAK_DITEMUKAN: 0.1,"
    " KELUARGA_TIDAK_DITEMUKAN: 0.1, PINDAH: 0.1, MENOLAK: 0.1}",
    "member_not_found": 0.1,
    "usulan_dukcapil_only": 0.9,
    "usulan_new_kk": 0.9,
    "usulan_registered": 0.03,
    "usulan_twice": 0.3,
    "sanggahan": 0.2,
    "reaktivasi": 0.5,
    "reaktivasi_other": 0.01,
}
TRUTH_COLUMNS = {
    "individu": ["sumber", "id_record", "person_id"],
    "keluarga": ["sumber", "id_keluarga", "family_id"],
    "kesejahteraan": ["family_id", "pengeluaran_kapita", "ln_pce_oracle"],
    "peristiwa": ["peristiwa", "person_id", "family_id", "family_id_awal"],
    "usulan": [
        "id_usulan",
        "family_id",
        "sudah_terdaftar",
        "asal",
        "jalur",
        "ganda",
        "diverifikasi",
    ],
    "sanggahan": ["id_sanggahan", "jenis", "benar", "person_id", "family_id", "pelapor_id"],
    "reaktivasi": [
        "nik",
        "tanggal",
        "person_id",
        "pbi_sebelumnya",
        "dikeluarkan",
        "surat_lengkap",
    ],
}


def _generate(root: Path, warehouse: str) -> None:
    from jobs import generate as generate_job

    args = ["--individuals", "400", "--input", str(root / "first"), "--warehouse", warehouse]
    settings = {
        "generate.susenas_households": 60,
        "generate.update_output": root / "update",
        "spark.shuffle_partitions": 2,
        **{f"generate.update.{k}": v for k, v in RAISED.items()},
    }
    for key, value in settings.items():
        args += ["--set", f"{key}={value}"]
    generate_job.main(args)


@pytest.fixture(scope="module")
def generated(spark: SparkSession, test_config: Config, tmp_path_factory) -> tuple[Path, Path]:
    """(first period, update) of the tiny population, and the update generated again."""
    root = tmp_path_factory.mktemp("update_gen")
    _generate(root / "a", test_config.storage.root)
    _generate(root / "b", test_config.storage.root)
    return root / "a", root / "b"


@pytest.fixture(scope="module")
def first(generated) -> Path:
    return generated[0] / "first"


@pytest.fixture(scope="module")
def update(generated) -> Path:
    return generated[0] / "update"


def _csv(folder: Path, delimiter: str = ",") -> pd.DataFrame:
    """A delivered CSV table's well-formed rows, every value as text (empty = None)."""
    rows: list[list[str]] = []
    header: list[str] = []
    for part in sorted(folder.glob("part-*")):
        with part.open(encoding="utf-8", newline="") as handle:
            lines = list(csv.reader(handle, delimiter=delimiter))
        header = lines[0]
        rows += [r for r in lines[1:] if len(r) == len(header)]
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    return frame.where(frame != "", None)


def _parquet(folder: Path) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(p) for p in sorted(folder.glob("part-*"))], ignore_index=True)


@pytest.fixture(scope="module")
def tables(update: Path, test_config: Config) -> dict[str, pd.DataFrame]:
    mapping = test_config.source_mapping(update=True)
    out = {}
    for name, spec in mapping.tables.items():
        folder = update / spec.path
        out[name] = _parquet(folder) if spec.format == "parquet" else _csv(folder, spec.delimiter)
    for name in TRUTH_COLUMNS:
        out[f"truth_{name}"] = _parquet(update / "_truth" / name)
    return out


def test_next_periode_rolls_over_the_year() -> None:
    assert [next_periode(p) for p in ("2025Q1", "2025Q3", "2025Q4")] == [
        "2025Q2",
        "2025Q4",
        "2026Q1",
    ]


def test_every_table_of_the_layout_has_the_exact_columns(update: Path, first: Path) -> None:
    mapping = load_config(None).source_mapping(update=True)
    assert set(mapping.tables) == {
        "dukcapil_penduduk",
        "groundcheck_keluarga",
        "groundcheck_individu",
        "usulan_keluarga",
        "usulan_individu",
        "sanggahan_sanggahan",
        "program_penerima",
        "program_reaktivasi",
        "admin_pln",
        "admin_bkn",
        "admin_bpjs_ketenagakerjaan",
        "admin_samsat",
        "admin_negatif",
        "referensi_wilayah",
        "referensi_kemiskinan",
        "referensi_ump",
    }
    written = {
        name: _parquet(update / spec.path) if spec.format == "parquet" else _csv(update / spec.path)
        for name, spec in mapping.tables.items()
    }
    assert {n: list(t.columns) for n, t in written.items()} == {
        n: list(spec.columns) for n, spec in mapping.tables.items()
    }
    assert (update / "periode.txt").read_text(encoding="utf-8") == "2025Q2\n"
    penduduk = pd.read_parquet(next((update / "dukcapil" / "penduduk").glob("part-*")))
    before = pd.read_parquet(next((first / "dukcapil" / "penduduk").glob("part-*")))
    assert dict(penduduk.dtypes) == dict(before.dtypes)
    for name, columns in TRUTH_COLUMNS.items():
        assert list(_parquet(update / "_truth" / name).columns) == columns, name
    for name in ("referensi/wilayah", "referensi/ump"):
        assert _csv(update / name).equals(_csv(first / name))


def test_a_person_keeps_their_person_id(first: Path, tables) -> None:
    then = _parquet(first / "_truth" / "individu")
    then = then[then["sumber"] == "dukcapil"].set_index("id_record")["person_id"]
    now = tables["truth_individu"]
    now = now[now["sumber"] == "dukcapil"].set_index("id_record")["person_id"]
    # The extract is complete: every first-period NIK is still there, with its person.
    assert set(then.index) <= set(now.index)
    assert now.loc[then.index].equals(then)
    # Ground-check and proposed members are the population's persons, under their ids
    # (a few are in no source at all: not in Dukcapil and missed by every registry).
    everyone = set(_parquet(first / "_truth" / "individu")["person_id"]) | set(now)
    records = tables["truth_individu"]
    for sumber in ("groundcheck", "usulan"):
        people = set(records.loc[records["sumber"] == sumber, "person_id"])
        assert people and len(people - everyone) <= 0.02 * len(people), sumber


def test_deaths_births_splits_and_moves_reach_dukcapil(first: Path, tables) -> None:
    before = _parquet(first / "dukcapil" / "penduduk").set_index("NIK")
    after = tables["dukcapil_penduduk"].set_index("NIK")
    events = tables["truth_peristiwa"]
    truth = tables["truth_individu"]
    nik_of = truth[truth["sumber"] == "dukcapil"].drop_duplicates("person_id", keep="first")
    nik_of = nik_of.set_index("person_id")["id_record"]
    counts = events["peristiwa"].value_counts().to_dict()
    assert {"MENINGGAL", "LAHIR", "PECAH", "PINDAH", "KESEJAHTERAAN"} <= set(counts)

    died = nik_of.reindex(events.loc[events["peristiwa"] == "MENINGGAL", "person_id"]).dropna()
    died = died[died.isin(before.index)]
    assert len(died)
    assert (before.loc[died, "STATUS"] == "AKTIF").all()
    assert (after.loc[died, "STATUS"] == "MENINGGAL").all()

    born = after.loc[~after.index.isin(before.index)]
    babies = born[born["TGL_LHR"] >= date(2025, 2, 1)]
    assert len(babies) == counts["LAHIR"]
    # A new NIK has the first period's structure: region prefix, birth date (+40 for
    # women), a serial; and it is no first-period NIK.
    day = babies["TGL_LHR"].map(lambda d: d.day) + (babies["JENIS_KLMIN"] == 2) * 40
    encoded = day.map("{:02d}".format) + babies["TGL_LHR"].map(lambda d: d.strftime("%m%y"))
    # (Where it was issued: a family that moved since keeps its babies' NIKs.)
    moved_ids = events.loc[events["peristiwa"] == "PINDAH", "person_id"]
    stayed = ~babies.index.isin(nik_of.reindex(moved_ids).dropna())
    assert stayed.any()
    assert (babies.index.str[:6] == babies["KODE_WILAYAH"].str[:6])[stayed].all()
    assert (babies.index.str[6:12] == encoded).all()
    assert babies.index.str.fullmatch(r"[0-9]{16}").all() and (babies.index.str[12:] > "0000").all()

    split = nik_of.reindex(events.loc[events["peristiwa"] == "PECAH", "person_id"]).dropna()
    split = split[split.isin(before.index)]
    assert len(split) and (after.loc[split, "NO_KK"] != before.loc[split, "NO_KK"]).all()
    kept = events[events["peristiwa"] == "PECAH"]
    assert (kept["family_id"] != kept["family_id_awal"]).all()
    # The head of a family that split keeps the KK.
    heads = before[(before["STAT_HBKEL"] == 1) & before["NO_KK"].isin(before.loc[split, "NO_KK"])]
    assert (after.loc[heads.index, "NO_KK"] == heads["NO_KK"]).all()

    moved = nik_of.reindex(events.loc[events["peristiwa"] == "PINDAH", "person_id"]).dropna()
    moved = moved[moved.isin(before.index)]
    assert len(moved)
    assert (
        after.loc[moved, "KODE_WILAYAH"].str[:4] != before.loc[moved, "KODE_WILAYAH"].str[:4]
    ).all()
    assert (after.loc[moved, "NO_KK"].str[:6] == after.loc[moved, "KODE_WILAYAH"].str[:6]).all()
    assert (after.loc[moved, "ALAMAT"] != before.loc[moved, "ALAMAT"]).any()
    assert after.index.is_unique and set(after["NO_KK"].str.len()) == {16}


def test_ground_checks_cover_the_register_with_all_outcomes(first: Path, tables) -> None:
    families = _parquet(first / "_truth" / "keluarga")
    register = set(families.loc[families["sumber"] != "dukcapil", "family_id"])
    gc = tables["groundcheck_keluarga"]
    keluarga = tables["truth_keluarga"]
    visit_family = keluarga[keluarga["sumber"] == "groundcheck"].set_index("id_keluarga")
    own = gc[gc["id_usulan"].isna()]
    visited = set(visit_family.loc[own["id_gc"], "family_id"])
    assert visited <= register
    assert 0.15 < len(visited) / len(register) < 0.6  # raised to 30%, biased by weights
    counts = gc["hasil"].value_counts()
    assert set(counts.index) == set(HASIL) and counts.idxmax() == "DITEMUKAN"
    found = gc["hasil"] == "DITEMUKAN"
    lantai = gc["lantai"].where(gc["lantai"] != "97")  # a code out of range: line dirt
    assert gc.loc[found, "lantai"].notna().all() and lantai[~found].isna().all()
    assert gc["dtsen_keluarga_id"].isna().mean() > 0.6
    assert gc["dtsen_keluarga_id"].dropna().str.fullmatch("K[0-9A-F]{16}").all()

    members = tables["groundcheck_individu"]
    assert set(members["status"]) == {"ADA", "TIDAK_DITEMUKAN", "MENINGGAL", "PINDAH", "BARU"}
    present = members["status"].isin(["ADA", "BARU"])
    pendidikan = members["pendidikan"].where(members["pendidikan"] != "97")
    assert members.loc[present, "pendidikan"].notna().all()
    assert pendidikan[~present].isna().all()
    refused = set(gc.loc[gc["hasil"] == "MENOLAK", "id_gc"])
    assert refused and not refused & set(members["id_gc"])
    moved_away = set(gc.loc[(gc["hasil"] == "PINDAH") & gc["id_usulan"].isna(), "id_gc"])
    assert (members.loc[members["id_gc"].isin(moved_away), "status"] == "PINDAH").all()


def test_proposals_of_both_routes_half_verified(tables) -> None:
    usulan = tables["usulan_keluarga"]
    truth = tables["truth_usulan"].set_index("id_usulan")
    assert set(usulan["jalur"]) == {"FORMAL", "MANDIRI"}
    assert {"0", "1"} <= set(usulan["disahkan_kepala_daerah"])
    assert set(usulan["program"].dropna()) <= {"PKH", "SEMBAKO", "PBI"}
    assert set(truth["asal"]) == {"DUKCAPIL_SAJA", "KK_BARU", "TERDAFTAR"}
    assert set(truth["sudah_terdaftar"]) == {True, False}
    assert (truth["sudah_terdaftar"] == (truth["asal"] == "TERDAFTAR")).all()
    # Proposed twice: two proposals, one per route, for the same family.
    twice = truth[truth["ganda"]].groupby("family_id")["jalur"].agg(sorted)
    assert len(twice) and (twice.map(tuple) == ("FORMAL", "MANDIRI")).all()
    gc = tables["groundcheck_keluarga"]
    verifying = gc["id_usulan"].dropna()
    assert set(verifying) == set(truth.index[truth["diverifikasi"]])
    share = len(verifying) / truth["family_id"].nunique()
    assert 0.25 < share < 0.75
    members = tables["usulan_individu"]
    assert set(members["id_usulan"]) <= set(usulan["id_usulan"])
    assert members["id_anggota_usulan"].is_unique


def test_objections_of_every_kind_right_and_wrong(tables) -> None:
    sanggahan = tables["sanggahan_sanggahan"]
    truth = tables["truth_sanggahan"]
    assert set(sanggahan["jenis"]) == set(JENIS_SANGGAHAN)
    assert set(truth["benar"]) == {True, False}
    assert sanggahan["keterangan"].notna().all()
    assert set(truth["id_sanggahan"]) >= set(sanggahan["id_sanggahan"])
    # A right BUKAN_ANGGOTA objection is about a member who took another KK.
    events = tables["truth_peristiwa"]
    split = set(events.loc[events["peristiwa"] == "PECAH", "person_id"])
    right = truth[(truth["jenis"] == "BUKAN_ANGGOTA") & truth["benar"]]
    assert set(right["person_id"]) <= split
    dead = set(events.loc[events["peristiwa"] == "MENINGGAL", "person_id"])
    wrong_deaths = truth[(truth["jenis"] == "SUDAH_MENINGGAL") & ~truth["benar"]]
    assert not set(wrong_deaths["person_id"]) & dead


def test_reactivation_requests_mostly_from_dropped_members(tables) -> None:
    requests = tables["program_reaktivasi"]
    truth = tables["truth_reaktivasi"]
    assert len(requests) and set(requests["alasan"]) <= {"KRONIS", "KATASTROFIK", "DARURAT_MEDIS"}
    assert truth["dikeluarkan"].mean() > 0.5
    assert set(truth["surat_lengkap"]) == {True, False}
    assert truth["surat_lengkap"].mean() > 0.5


def test_the_same_seed_writes_the_same_files(generated) -> None:
    one, two = (root / "update" for root in generated)
    tables = sorted({p.parent.relative_to(one) for p in one.rglob("part-*")})
    assert len(tables) == 23
    for table in tables:
        left = [p.read_bytes() for p in sorted((one / table).glob("part-*"))]
        right = [p.read_bytes() for p in sorted((two / table).glob("part-*"))]
        assert left == right, table


def test_the_update_ingests_with_full_accounting(
    spark: SparkSession, test_config: Config, update: Path, tmp_path
) -> None:
    from jobs.ingest import run as ingest

    cfg = test_config.model_copy(
        update={
            "input": str(update),
            "storage": test_config.storage.model_copy(update={"root": str(tmp_path / "wh")}),
            "ingest": test_config.ingest.model_copy(update={"sources": "sources/update.yaml"}),
        }
    )
    storage = Storage(spark, str(tmp_path / "wh"), cfg.storage.engine)
    reports = {r.table: r for r in ingest(spark, cfg, storage)}
    assert set(reports) == set(cfg.source_mapping().tables)
    assert all(r.read == r.accepted + r.quarantined for r in reports.values())
    lines = {
        name: sum(len(p.read_text(encoding="utf-8").splitlines()) - 1 for p in parts)
        for name, parts in {
            "groundcheck_individu": sorted((update / "groundcheck" / "individu").glob("part-*")),
            "sanggahan_sanggahan": sorted((update / "sanggahan" / "sanggahan").glob("part-*")),
        }.items()
    }
    for name, count in lines.items():
        assert reports[name].read == count
        bronze = storage.read(f"bronze/{name}").count()
        assert bronze == reports[name].accepted


def test_an_unknown_extended_table_is_named(tmp_path) -> None:
    (tmp_path / "sources").mkdir()
    (tmp_path / "sources" / "bad.yaml").write_text(
        "extends: {mapping: sources/contract.yaml, tables: [dukcapil, referensi_ump]}\n"
        "tables: {}\n",
        encoding="utf-8",
    )
    profile = tmp_path / "profile.yaml"
    profile.write_text(
        "profile: t\nstorage: {root: wh}\ningest: {update_sources: sources/bad.yaml}\n",
        encoding="utf-8",
    )
    with pytest.raises(BadConfigError, match=r"no table \['dukcapil'\] there"):
        load_config(profile).source_mapping(update=True)
