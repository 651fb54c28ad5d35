"""The Cek DTSEN lookup: built from the updated register, answered by point reads.

The pure parts (masking, NIK checks, factor wording) on inline rows; the lookup itself
on a private copy of ``updated_warehouse`` (2025Q1 and the 2025Q2 update), its answers
checked against the gold tables they come from.
"""

from __future__ import annotations

import json
import shutil

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from dtsen.cli import recorded
from dtsen.config import load_config
from dtsen.io.lookup_store import TABLE, LookupStore
from dtsen.storage import Storage
from jobs import cek
from publish.lookup import (
    NIK_KK_TIDAK_COCOK,
    NIK_TIDAK_DITEMUKAN,
    factor_phrases,
    key_of,
    masked_name,
    masked_nik,
    nik_problem,
    reply,
)

SECRET = "a-test-secret-that-is-long-enough-123"


def test_names_and_niks_are_masked(spark):
    schema = StructType([StructField("nama", StringType()), StructField("nik", StringType())])
    rows = [("Siti  Rahayu", "3201014501900001"), ("h. ahmad", "3201010101900002"), (None, None)]
    out = spark.createDataFrame(rows, schema).select(
        masked_name(F.col("nama")).alias("nama"), masked_nik(F.col("nik")).alias("nik")
    )
    expected = spark.createDataFrame(
        [("S*** R***", "************0001"), ("H*** A***", "************0002"), (None, None)],
        schema,
    )
    assert_df_equality(out, expected, ignore_nullable=True)


def test_nik_structure_is_checked():
    assert nik_problem("3201014501900001", 2025) is None  # a woman born 5 January 1990
    assert nik_problem("3201 0145 0190 0001", 2025) is None  # typed with spaces
    assert nik_problem("320101450190001", 2025) == "NIK harus 16 angka"
    assert nik_problem("32010145019000A1", 2025) == "NIK harus 16 angka"
    assert nik_problem("3201013102900001", 2025) == "tanggal lahir dalam NIK tidak valid"
    assert nik_problem("3201010101900000", 2025) == "nomor urut NIK tidak valid"


def test_the_python_key_is_the_spark_key(spark):
    from publish.lookup import _keyed

    value = spark.createDataFrame([("3201-0145-0190-0001",)], "nik string").select(
        _keyed(F.col("nik"), "nik", SECRET).alias("k")
    )
    assert value.first().k == key_of("3201014501900001", "nik", SECRET)
    assert key_of("3201014501900001", "nik", SECRET) != key_of("3201014501900001", "kk", SECRET)


def test_factors_read_as_plain_indonesian():
    cfg = load_config(None, [])
    phrases = factor_phrases(cfg.feature_spec(), cfg.pmt.tuning.monotone)
    assert phrases["luas_lantai_per_kapita"] == (
        "Luas lantai per orang kecil: menurunkan skor",
        "Luas lantai per orang besar: menaikkan skor",
    )
    # Household size lowers welfare: a score lowered by it means a large family.
    assert phrases["log_jumlah_anggota"][0] == "Jumlah anggota keluarga banyak: menurunkan skor"
    assert phrases["aset_kulkas"][0] == "Memiliki kulkas tidak: menurunkan skor"
    assert phrases["lantai_8"][0] == "Lantai rumah tanah: menurunkan skor"
    assert (
        phrases["bahan_bakar_0"][1] == "Bahan bakar memasak tidak memasak di rumah: menaikkan skor"
    )
    assert phrases["provinsi_31"][0] == "Provinsi tempat tinggal (kode 31): menurunkan skor"
    assert set(phrases) == set(cfg.feature_spec().columns)


def test_a_question_is_checked_before_and_after_the_read():
    rows = {
        key_of("3201014501900001", "nik", SECRET): {
            "kunci_kk": key_of("3201010101100001", "kk", SECRET),
            "anggota_ke": 2,
            "jawaban": json.dumps({"periode": "2025Q2"}),
        }
    }
    reads = []

    def find(key):
        reads.append(key)
        return rows.get(key)

    assert (
        reply("12345", None, SECRET, 2025, find).message == "NIK tidak valid: NIK harus 16 angka."
    )
    assert reads == []  # an invalid NIK is never looked up
    assert reply("3201014501900002", None, SECRET, 2025, find).message == NIK_TIDAK_DITEMUKAN
    assert reply("3201014501900001", "3201010101100002", SECRET, 2025, find).message == (
        NIK_KK_TIDAK_COCOK
    )
    ok = reply("3201014501900001", "3201-0101-0110-0001", SECRET, 2025, find)
    assert ok.ok and ok.answer == {"periode": "2025Q2", "anggota_ke": 2}


# --- the lookup of the updated register ---------------------------------------------


@pytest.fixture(scope="module")
def built(spark, updated_warehouse, tmp_path_factory):
    """The lookup built twice on a private copy: (cfg, storage, first version, second)."""
    cfg, shared, *_ = updated_warehouse
    root = tmp_path_factory.mktemp("cek") / "warehouse"
    shutil.copytree(shared.root, root)
    cfg = cfg.model_copy(update={"storage": cfg.storage.model_copy(update={"root": str(root)})})
    storage = Storage(spark, str(root), cfg.storage.engine)
    first = recorded(cek.run, spark, cfg, storage)
    second = recorded(cek.run, spark, cfg, storage)
    return cfg, storage, first, second


def _families(storage, count):
    """The first ``count`` families (by ID) with their members (test-sized: collected),
    recipients of either period first so that every program status occurs."""
    keluarga = storage.read("gold/keluarga").select("dtsen_keluarga_id", "no_kk")
    receiving = storage.read("gold/penerima_program").select("dtsen_keluarga_id").distinct()
    chosen = (
        receiving.limit(count // 2)
        .unionByName(keluarga.select("dtsen_keluarga_id").orderBy("dtsen_keluarga_id").limit(count))
        .distinct()
    )
    people = (
        storage.read("gold/individu")
        .join(chosen, "dtsen_keluarga_id")
        .join(keluarga, "dtsen_keluarga_id", "left")
        .select("dtsen_individu_id", "dtsen_keluarga_id", "nik", "nama", "no_kk")
        .collect()
    )
    families: dict[str, list[dict]] = {}
    for p in people:
        families.setdefault(p.dtsen_keluarga_id, []).append(p.asDict())
    return families


def _mask(name):
    return " ".join(w[0].upper() + "***" for w in name.split()) if name else None


@pytest.fixture(scope="module")
def answers(built):
    """Each chosen person's reply (with their NIK and KK): {dtsen_individu_id: answer}."""
    cfg, storage, *_ = built
    store = LookupStore(cfg.storage.root)
    families = _families(storage, 40)
    replies = {}
    for members in families.values():
        for m in members:
            if m["nik"] is not None:
                replies[m["dtsen_individu_id"]] = reply(
                    m["nik"], m["no_kk"], cfg.linkage.secret, 2025, store.find
                )
    return families, replies


@pytest.mark.slow
def test_build_is_deterministic(built):
    _, storage, first, second = built
    assert first["periode"] == "2025Q2" and first["periode_lalu"] == "2025Q1"
    assert first["nik"] == second["nik"] > 500
    one = storage.read(TABLE, first["versi"]).orderBy("kunci")
    two = storage.read(TABLE, second["versi"]).orderBy("kunci")
    assert_df_equality(one, two)


@pytest.mark.slow
def test_each_answer_lists_exactly_the_askers_family(answers):
    families, replies = answers
    asked = 0
    for family, members in families.items():
        expected = sorted(
            ((_mask(m["nama"]), m["nik"] and "*" * 12 + m["nik"][-4:]) for m in members),
            key=repr,
        )
        for m in members:
            if m["dtsen_individu_id"] not in replies:
                continue
            got = replies[m["dtsen_individu_id"]]
            assert got.ok, got.message
            answer = got.answer
            assert answer["dtsen_keluarga_id"] == family
            assert answer["jumlah_anggota"] == len(members) == len(answer["anggota"])
            listed = sorted(((a.get("nama"), a.get("nik")) for a in answer["anggota"]), key=repr)
            assert listed == expected
            mine = answer["anggota"][answer["anggota_ke"] - 1]
            assert (mine.get("nama"), mine.get("nik")) == (
                _mask(m["nama"]),
                "*" * 12 + m["nik"][-4:],
            )
            asked += 1
    assert asked > 50


@pytest.mark.slow
def test_desil_of_both_periods_is_the_ranking(built, answers):
    _, storage, *_ = built
    families, replies = answers
    levels = ("desil_nasional", "desil_provinsi", "desil_kabkota")
    ranked = {
        (r.periode, r.dtsen_keluarga_id): tuple(r[c] for c in levels)
        for r in storage.read("gold/peringkat")
        .where(F.col("dtsen_keluarga_id").isin(list(families)))
        .collect()
    }
    moves = set()
    for family, members in families.items():
        answers_ = [
            replies[m["dtsen_individu_id"]] for m in members if m["dtsen_individu_id"] in replies
        ]
        for got in answers_:
            desil = got.answer["desil"]
            for side, periode in (("sekarang", "2025Q2"), ("sebelumnya", "2025Q1")):
                held = desil.get(side)
                expected = ranked.get((periode, family))
                assert (held and tuple(held[c] for c in levels)) == (expected or None)
            moves.add(desil.get("perubahan"))
    assert moves & {"NAIK", "TURUN", "TETAP"}


@pytest.mark.slow
def test_program_status_follows_both_periods_recipients(built, answers):
    cfg, storage, *_ = built
    families, replies = answers
    receiving = {
        (r.periode, r.program, r.dtsen_individu_id or r.dtsen_keluarga_id)
        for r in storage.read("gold/penerima_program").collect()
    }

    def expected(program, unit):
        now, before = ("2025Q2", program, unit) in receiving, ("2025Q1", program, unit) in receiving
        return {(True, True): "PENERIMA", (True, False): "MASUK", (False, True): "KELUAR"}.get(
            (now, before), "BUKAN_PENERIMA"
        )

    seen = set()
    for family, members in families.items():
        for m in members:
            got = replies.get(m["dtsen_individu_id"])
            if got is None:
                continue
            entries = got.answer["program"]
            assert {e["program"] for e in entries} == set(cfg.programs())
            for e in entries:
                if e.get("anggota_ke") is None:
                    assert e["status"] == expected(e["program"], family), e
                elif e["anggota_ke"] == got.answer["anggota_ke"]:
                    assert e["status"] == expected(e["program"], m["dtsen_individu_id"]), e
                assert e["alasan"]["keterangan"] and e["alasan"]["kode"]
                seen.add(e["status"])
    assert {"PENERIMA", "BUKAN_PENERIMA"} <= seen


@pytest.mark.slow
def test_the_table_holds_no_nik_and_no_name(built):
    _, storage, *_ = built
    stored = storage.read(TABLE)
    strings = [f.name for f in stored.schema if isinstance(f.dataType, StringType)]
    text = stored.select(F.concat_ws("|", *strings).alias("text"))
    people = storage.read("gold/individu").select("nik", "nama")
    secrets = (
        people.select(F.col("nik").alias("s"))
        .unionByName(people.select(F.col("nama").alias("s")))
        .where(F.length("s") >= 4)
        .distinct()
    )
    leaks = text.crossJoin(secrets).where(F.instr("text", F.col("s")) > 0)
    assert leaks.count() == 0
    # Keys are hashes, answers mask every NIK to its last 4 digits.
    assert stored.where(~F.col("kunci").rlike("^[0-9a-f]{64}$")).count() == 0
    # (the family ID is a hash that may happen to be 16 digits: left out of this check)
    without_ids = F.regexp_replace("jawaban", '"dtsen_keluarga_id":"[^"]*"', "")
    assert stored.where(without_ids.rlike("[0-9]{16}")).count() == 0


@pytest.mark.slow
def test_wrong_inputs_get_one_line_each(built, answers, capsys):
    cfg, storage, *_ = built
    families, _ = answers
    common = ["--warehouse", cfg.storage.root, "--set", f"linkage.id_salt={cfg.linkage.secret}"]
    first, person = next(
        (f, m) for f, members in sorted(families.items()) for m in members if m["nik"]
    )
    other_kk = next(
        m["no_kk"]
        for f, members in sorted(families.items())
        for m in members
        if f != first and m["no_kk"]
    )
    known = {r.nik for r in storage.read("gold/individu").select("nik").collect()}
    unknown = next(
        f"{person['nik'][:12]}{n:04d}"
        for n in range(1, 10000)
        if f"{person['nik'][:12]}{n:04d}" not in known
    )
    cases = [
        (["--nik", "12345"], "NIK tidak valid: NIK harus 16 angka."),
        (["--nik", unknown], NIK_TIDAK_DITEMUKAN),
        (["--nik", person["nik"], "--kk", other_kk], NIK_KK_TIDAK_COCOK),
        (["--nik", person["nik"], "--kk", "3201010101100001"], NIK_KK_TIDAK_COCOK),
    ]
    for argv, message in cases:
        with pytest.raises(SystemExit) as exit_:
            cek.main([*argv, *common])
        assert exit_.value.code == 1
        assert capsys.readouterr().out.strip() == message
    answer = cek.main(["--nik", person["nik"], *common])
    text = capsys.readouterr().out
    assert answer["dtsen_keluarga_id"] == first
    assert f"ID keluarga DTSEN: {first}" in text and "(Anda)" in text
    assert person["nik"] not in text and person["nama"] not in text
