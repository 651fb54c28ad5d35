"""The PMT feature builder on a hand-built family, through both adapters."""

from __future__ import annotations

from datetime import date

import pytest
import yaml
from chispa import assert_df_equality

from delivery.variables import FAMILY_VARIABLES
from dtsen.config import default_profile
from ranking.features import (
    DTKS_COLUMNS,
    KEY,
    FeatureSpec,
    FeatureSpecError,
    build_features,
    golden_inputs,
    mask,
    survey_inputs,
)

REFERENCE = date(2025, 2, 1)


@pytest.fixture(scope="module")
def spec() -> FeatureSpec:
    path = default_profile().parent.joinpath("pmt_features.yaml")
    return FeatureSpec.from_dict(yaml.safe_load(path.read_text()), str(path))


# One family in Jawa Barat: earth floor, bamboo wall, 450 VA, own toilet, 36 m2, three
# large livestock; a working farmer head of 40, his wife, a child of 3, a mother of 70.
FAMILY = {
    **dict.fromkeys(FAMILY_VARIABLES, 0),
    "jumlah_keluarga_dalam_rumah": 1,
    "status_bangunan": 1,
    "luas_lantai": 36.0,
    "lantai": 8,
    "dinding": 4,
    "atap": 3,
    "air_minum": 4,
    "penerangan": 1,
    "daya_listrik": 1,
    "bahan_bakar": 4,
    "fasilitas_bab": 1,
    "kloset": 1,
    "pembuangan_tinja": 1,
    "aset_sepeda_motor": 1,
    "ternak_sapi": 2,
    "ternak_kuda": 1,
}
MEMBERS = [
    # sex, birth date, relationship, marital, school, education, works, sector, status
    (1, date(1984, 6, 1), 1, 2, 2, 2, 1, 1, 1),
    (2, date(1989, 3, 2), 2, 2, 2, 3, 0, 0, 0),
    (1, date(2021, 7, 9), 3, 1, 0, 1, 0, 0, 0),
    (2, date(1954, 1, 1), 6, 4, 2, 1, 0, 0, 0),
]
FAMILY_TYPES = ", ".join(
    f"{v} {'double' if v == 'luas_lantai' else 'int'}" for v in FAMILY_VARIABLES
)
MEMBER_TYPES = (
    "jenis_kelamin int, tanggal_lahir date, {rel} int, status_kawin int, "
    "partisipasi_sekolah int, pendidikan int, bekerja int, lapangan_usaha int, "
    "status_pekerjaan int, punya_usaha int, disabilitas int, penyakit_kronis int"
)


def _member_rows(key: str) -> list[tuple]:
    return [(key, *m, 0, 0, 1 if m[2] == 6 else 0) for m in MEMBERS]


def survey_frames(spark):
    households = spark.createDataFrame(
        [("R1", "3201010001", 250.0, 600000.0, *FAMILY.values())],
        f"id_ruta string, kode_wilayah string, bobot double, pengeluaran_kapita double, "
        f"{FAMILY_TYPES}",
    )
    members = spark.createDataFrame(
        _member_rows("R1"), "id_ruta string, " + MEMBER_TYPES.format(rel="hubungan_kk")
    )
    return households, members


def golden_frames(spark):
    dtks = ", ".join(f"{c} int" for c in DTKS_COLUMNS)
    keluarga = spark.createDataFrame(
        [("K1", "3201010001", 4, "R", *FAMILY.values(), *[None] * len(DTKS_COLUMNS))],
        f"dtsen_keluarga_id string, kode_wilayah string, jumlah_anggota int, relasi string, "
        f"{FAMILY_TYPES}, {dtks}",
    )
    individu = spark.createDataFrame(
        [(f"I{i}", "NIK", *row) for i, row in enumerate(_member_rows("K1"))],
        "dtsen_individu_id string, nik string, dtsen_keluarga_id string, "
        + MEMBER_TYPES.format(rel="hubungan"),
    )
    return keluarga, individu


def test_feature_values_of_a_hand_built_family(spark, spec):
    families, members = survey_inputs(*survey_frames(spark), spec)
    features = build_features(families, members, spec, REFERENCE)
    checked = [
        "jumlah_anggota",
        "anggota_0_4",
        "anggota_15_64",
        "anggota_65_plus",
        "rasio_ketergantungan",
        "luas_lantai_per_kapita",
        "kepala_umur",
        "kepala_perempuan",
        "kepala_bekerja",
        "kepala_pertanian",
        "pendidikan_maks",
        "lantai_8",
        "lantai_2",
        "lantai_tanah_bambu",
        "dinding_bambu_kayu",
        "listrik_450_atau_tanpa",
        "daya_listrik",
        "ternak_besar",
        "penyakit_kronis",
        "provinsi_32",
        "provinsi_31",
    ]
    expected = spark.createDataFrame(
        [
            (
                "R1",
                *[4.0, 1.0, 2.0, 1.0, 1.0, 9.0, 40.0, 0.0, 1.0, 1.0, 3.0],
                *[1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 3.0, 1.0, 1.0, 0.0],
            )
        ],
        f"{KEY} string, " + ", ".join(f"{c} double" for c in checked),
    )
    assert_df_equality(features.select(KEY, *checked), expected)
    assert features.columns[2:] == spec.columns


def test_survey_and_golden_paths_give_identical_features(spark, spec):
    survey = build_features(*survey_inputs(*survey_frames(spark), spec), spec, REFERENCE)
    golden = build_features(*golden_inputs(*golden_frames(spark)), spec, REFERENCE)
    assert_df_equality(survey.drop(KEY), golden.drop(KEY))


def test_a_dtks_only_family_keeps_the_dtks_indicators(spark, spec):
    families, members = survey_inputs(*survey_frames(spark), spec)
    masked = build_features(*mask(families, members, spec, "D"), spec, REFERENCE)
    row = masked.first()
    assert row["lantai_8"] is None and row["kepala_pendidikan"] is None
    assert row["lantai_tanah_bambu"] == 1.0 and row["kepala_bekerja"] == 1.0
    assert row["jumlah_anggota"] == 4.0 and row["anggota_65_plus"] == 1.0
    p3ke = build_features(*mask(families, members, spec, "P"), spec, REFERENCE).first()
    assert p3ke["lantai_8"] == 1.0 and p3ke["kepala_pendidikan"] == 2.0
    assert p3ke["aset_sepeda_motor"] is None and p3ke["kepala_bekerja"] is None


def test_a_bad_expression_names_the_feature(spark, spec):
    raw = dict(spec.raw)
    raw["derived"] = [*raw["derived"], {"name": "rusak", "expr": "no_such_column + 1"}]
    broken = FeatureSpec.from_dict(raw, "test")
    families, members = survey_inputs(*survey_frames(spark), broken)
    with pytest.raises(FeatureSpecError, match="'rusak'"):
        build_features(families, members, broken, REFERENCE)


def test_spec_structure_is_validated(spec):
    raw = dict(spec.raw)
    raw["family"] = [*raw["family"], {"name": "x", "expr": "1", "agg": "count(*)"}]
    with pytest.raises(FeatureSpecError, match="family.x"):
        FeatureSpec.from_dict(raw, "test")
    raw = dict(spec.raw)
    raw["members"] = [*raw["members"], {"name": "jumlah_anggota", "agg": "count(*)"}]
    with pytest.raises(FeatureSpecError, match="jumlah_anggota"):
        FeatureSpec.from_dict(raw, "test")
