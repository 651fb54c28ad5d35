"""The rules an update period brings: ground-check outcomes, waiting list, national pass,
out-of-range recipients, PBI reactivation and the ground-check queue, on hand-built frames."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dtsen.config import ProgramConfig
from dtsen.errors import StorageError
from dtsen.storage import Storage
from dtsen.storage.periods import read_periods
from ranking.allocation import allocate, changes
from ranking.antrian import SANGGAHAN_SCHEMA, antrian_groundcheck
from ranking.candidates import candidates, with_update_flags
from ranking.eligibility import kelayakan
from ranking.groundcheck import GROUNDCHECK_SCHEMA, found_visits
from ranking.programs import (
    KEPUTUSAN_LALU_SCHEMA,
    UpdateInputs,
    allocate_programs,
    format_figures,
    update_summary,
)
from ranking.reactivation import (
    PERMINTAAN_SCHEMA,
    REAKTIVASI_SCHEMA,
    decide_requests,
    reactivation_state,
)
from ranking.redistribution import redistribute
from ranking.usulan import USULAN_SCHEMA, waiting_list

FLAGS = (
    "unit_id string, kode_kab string, persentil double, dalam_desil boolean, layak boolean,"
    " penerima boolean, sudah_groundcheck boolean"
)
UPDATE_FLAGS = f"{FLAGS}, daftar_tunggu boolean, reaktivasi boolean, batas_reaktivasi boolean"
DECIDED = "terpilih boolean, prioritas int, alasan string"
DECIDED_NAMES = ("terpilih", "prioritas", "alasan")
QUOTAS = "kode_kab string, kuota long"
KELAYAKAN = (
    "periode string, dtsen_keluarga_id string, dtsen_individu_id string, layak boolean,"
    " alasan array<string>"
)
PERSONS = "dtsen_individu_id string, dtsen_keluarga_id string"
PERINGKAT = (
    "dtsen_keluarga_id string, kode_kab string, persentil_nasional double, desil_nasional int"
)
PENERIMA = "nik string, program string, sudah_groundcheck int"
Q1, Q2, Q3 = "2025Q1", "2025Q2", "2025Q3"


def _visit(periode, id_gc, tanggal, keluarga, hasil, tidak_ditemukan=(), id_usulan=None):
    """One ``gold/groundcheck`` row."""
    return (periode, id_gc, tanggal, keluarga, id_usulan, hasil, [], list(tidak_ditemukan))


def _visits(spark: SparkSession, rows: list[tuple]) -> DataFrame:
    return spark.createDataFrame(rows, GROUNDCHECK_SCHEMA)


def _empty(spark: SparkSession, schema: str) -> DataFrame:
    return spark.createDataFrame([], schema)


# --- ground-check outcomes in gold/kelayakan --------------------------------------------


def test_each_ground_check_outcome_is_an_exclusion_reason(spark: SparkSession) -> None:
    members = [
        ("I1", "K1"),
        ("I2", "K2"),
        ("I3", "K2"),
        ("I4", "K3"),
        ("I5", "K4"),
        ("I6", "K5"),
        ("I7", "K5"),
        ("I8", "K6"),
        ("I9", "K7"),
    ]
    persons = spark.createDataFrame(
        [(i, k, None, "3201010001") for i, k in members],
        "dtsen_individu_id string, dtsen_keluarga_id string, nik string, kode_wilayah string",
    )
    visits = _visits(
        spark,
        [
            _visit(Q2, "G1", date(2025, 4, 10), "K1", "ALAMAT_TIDAK_DITEMUKAN"),
            _visit(Q2, "G2", date(2025, 4, 11), "K2", "KELUARGA_TIDAK_DITEMUKAN", ["I2", "I3"]),
            _visit(Q2, "G3", date(2025, 4, 12), "K3", "MENOLAK"),
            _visit(Q2, "G4", date(2025, 4, 12), "K4", "PINDAH"),
            _visit(Q2, "G5", date(2025, 5, 2), "K5", "DITEMUKAN", ["I7"]),  # one member gone
            # Not found in Q1, found in Q2 (the date was lost): the later period clears it.
            _visit(Q1, "G6", date(2025, 2, 1), "K6", "KELUARGA_TIDAK_DITEMUKAN", ["I8"]),
            _visit(Q2, "G7", None, "K6", "DITEMUKAN"),
            # Found, then refused later in the same period; a Q3 visit is not seen in Q2.
            _visit(Q2, "G8", date(2025, 4, 1), "K7", "DITEMUKAN"),
            _visit(Q2, "G9", date(2025, 4, 20), "K7", "MENOLAK"),
            _visit(Q3, "G10", date(2025, 7, 1), "K7", "DITEMUKAN"),
            _visit(Q2, "G11", date(2025, 4, 1), None, "MENOLAK"),  # not attached: ignored
        ],
    )
    empty_nik = "nik string, kategori string, status string"

    out = kelayakan(
        persons,
        _empty(spark, "NIK string, STATUS string"),
        _empty(spark, empty_nik),
        _empty(spark, "nik string, upah_bulanan long"),
        _empty(spark, "nik string, alasan string"),
        spark.createDataFrame([("32", 2_000_000)], "kode_prov string, ump long"),
        Q2,
        groundcheck=visits,
    ).orderBy("dtsen_keluarga_id", F.asc_nulls_first("dtsen_individu_id"))

    not_found = ["INDIVIDU_TIDAK_DITEMUKAN", "KELUARGA_TIDAK_DITEMUKAN"]
    rows = [
        ("K1", None, ["ALAMAT_TIDAK_DITEMUKAN"]),
        ("K1", "I1", ["ALAMAT_TIDAK_DITEMUKAN"]),
        ("K2", None, ["KELUARGA_TIDAK_DITEMUKAN"]),
        ("K2", "I2", not_found),
        ("K2", "I3", not_found),
        ("K3", None, ["MENOLAK"]),
        ("K3", "I4", ["MENOLAK"]),
        ("K4", None, ["PINDAH"]),
        ("K4", "I5", ["PINDAH"]),
        ("K5", None, []),
        ("K5", "I6", []),
        ("K5", "I7", ["INDIVIDU_TIDAK_DITEMUKAN"]),
        ("K6", None, []),
        ("K6", "I8", []),
        ("K7", None, ["MENOLAK"]),
        ("K7", "I9", ["MENOLAK"]),
    ]
    expected = spark.createDataFrame(
        [(Q2, kk, person, not alasan, alasan) for kk, person, alasan in rows], KELAYAKAN
    )
    assert_df_equality(out, expected, ignore_nullable=True)


# --- allocation order: waiting list, reactivation -----------------------------------------


def test_waiting_list_fills_after_ground_checked_and_before_rank(spark: SparkSession) -> None:
    units = spark.createDataFrame(
        [
            ("w1", "3201", 30.0, True, True, True, False, False, False, False),  # recipient
            ("w2", "3201", 40.0, True, True, False, True, False, False, False),  # checked
            ("w3", "3201", 70.0, False, True, False, False, True, False, False),  # list, desil 8
            ("w4", "3201", 5.0, True, True, False, False, False, False, False),  # best ranked
            ("w5", "3201", 10.0, True, False, False, False, True, False, False),  # list, excluded
            ("w6", "3201", 20.0, True, True, False, False, True, False, False),  # list, in range
        ],
        UPDATE_FLAGS,
    )
    quotas = spark.createDataFrame([("3201", 4)], QUOTAS)

    out = allocate(units, quotas).orderBy("unit_id")

    expected = spark.createDataFrame(
        [
            ("w1", "3201", 30.0, True, True, True, False, False, False, False, True, 2, "TETAP"),
            (
                *("w2", "3201", 40.0, True, True, False, True, False, False, False),
                *(True, 4, "BARU_GROUNDCHECK"),
            ),
            (
                *("w3", "3201", 70.0, False, True, False, False, True, False, False),
                *(True, 5, "BARU_DAFTAR_TUNGGU"),
            ),
            ("w4", "3201", 5.0, True, True, False, False, False, False, False, False, 6, None),
            ("w5", "3201", 10.0, True, False, False, False, True, False, False, False, None, None),
            (
                *("w6", "3201", 20.0, True, True, False, False, True, False, False),
                *(True, 5, "BARU_DAFTAR_TUNGGU"),
            ),
        ],
        f"{UPDATE_FLAGS}, {DECIDED}",
    )
    assert_df_equality(out, expected, ignore_nullable=True)


def test_waiting_list_is_the_latest_approved_proposal_for_the_program(spark: SparkSession) -> None:
    def proposal(periode, id_usulan, keluarga, status, approved, program):
        day = date(2025, 4, 1)
        return (periode, id_usulan, day, "FORMAL", keluarga, status, None, approved, program)

    rows = [
        proposal(Q1, "U1", "K1", "SUDAH_ADA", True, "PKH"),
        proposal(Q2, "U2", "K2", "BARU_TERVERIFIKASI", True, None),  # any program
        proposal(Q2, "U3", "K3", "SUDAH_ADA", True, "PBI"),  # another program
        proposal(Q2, "U4", "K4", "SUDAH_ADA", False, "PKH"),  # not approved
        proposal(Q1, "U5", "K5", "SUDAH_ADA", True, "PKH"),
        proposal(Q2, "U5", "K5", "DITOLAK", True, "PKH"),  # rejected since
        proposal(Q2, "U6", None, "BARU_MENUNGGU_GC", True, "PKH"),  # no family
        proposal(Q3, "U7", "K7", "SUDAH_ADA", True, "PKH"),  # a later period
        proposal(Q2, "U8", "K1", "SUDAH_ADA", True, None),  # K1 again
    ]
    usulan = spark.createDataFrame(rows, USULAN_SCHEMA)

    out = waiting_list(usulan, Q2, "PKH").orderBy("dtsen_keluarga_id")

    expected = spark.createDataFrame([("K1",), ("K2",)], "dtsen_keluarga_id string")
    assert_df_equality(out, expected, ignore_nullable=True)


def test_reactivated_members_take_places_first_even_beyond_quota(spark: SparkSession) -> None:
    units = spark.createDataFrame(
        [
            ("r1", "3202", 90.0, False, True, False, False, False, True, False),  # desil 10
            ("r2", "3202", 80.0, False, True, True, False, False, True, False),  # second period
            ("r3", "3202", 85.0, False, False, True, False, False, True, False),  # now excluded
            ("t1", "3202", 10.0, True, True, True, False, False, False, False),
            ("x1", "3202", 20.0, True, True, True, False, False, False, True),  # past deadline
        ],
        UPDATE_FLAGS,
    )
    quotas = spark.createDataFrame([("3202", 1)], QUOTAS)

    out = allocate(units, quotas).orderBy("unit_id").select("unit_id", *DECIDED_NAMES)

    expected = spark.createDataFrame(
        [
            ("r1", True, 1, "REAKTIVASI"),
            ("r2", True, 1, "REAKTIVASI"),
            ("r3", False, None, "TIDAK_LAYAK"),
            ("t1", False, 2, "LEBIH_KUOTA"),  # the reactivations took the kab's place
            ("x1", False, None, "BATAS_REAKTIVASI"),
        ],
        f"unit_id string, {DECIDED}",
    )
    assert_df_equality(out, expected, ignore_nullable=True)


# --- the national pass ------------------------------------------------------------------


@pytest.mark.parametrize("buckets", [1, 10_000])
def test_places_a_kab_cannot_fill_go_to_the_best_candidates_elsewhere(
    spark: SparkSession, buckets: int
) -> None:
    units = spark.createDataFrame(
        [
            ("a1", "3301", 40.0, True, True, False, False),  # kab 3301's only candidate
            ("a2", "3301", 10.0, True, False, False, False),  # excluded: no candidate
            ("b1", "3302", 30.0, True, True, True, False),
            ("b2", "3302", 35.0, True, True, True, False),  # recipient over 3302's quota
            ("b3", "3302", 5.0, True, True, False, False),
            ("c1", "3303", 2.0, True, True, False, False),  # kab 3303 has no places
            ("c2", "3303", 5.0, True, True, False, False),  # tied with b3: loses on unit_id
        ],
        FLAGS,
    )
    # 3301 leaves 3 of its 4 places empty; 3302 and 3303 turn candidates away.
    quotas = spark.createDataFrame([("3301", 4), ("3302", 1), ("3303", 0)], QUOTAS)

    decided = redistribute(allocate(units, quotas), quotas, buckets=buckets)

    expected = spark.createDataFrame(
        [
            ("a1", True, 6, "BARU_PERINGKAT"),
            ("a2", False, None, None),
            ("b1", True, 2, "TETAP"),
            ("b2", True, 2, "REDISTRIBUSI_NASIONAL"),  # a kept recipient comes first
            ("b3", True, 6, "REDISTRIBUSI_NASIONAL"),
            ("c1", True, 6, "REDISTRIBUSI_NASIONAL"),
            ("c2", False, 6, None),
        ],
        f"unit_id string, {DECIDED}",
    )
    assert_df_equality(
        decided.orderBy("unit_id").select("unit_id", *DECIDED_NAMES),
        expected,
        ignore_nullable=True,
    )
    counted = changes(decided).orderBy("arah", "alasan")
    assert [tuple(r) for r in counted.collect()] == [
        ("GALAT", "EKSKLUSI", 4),  # a1, b3, c1, c2: eligible, in range, not receiving before
        ("GALAT", "INKLUSI", 0),
        ("MASUK", "BARU_PERINGKAT", 1),
        ("MASUK", "REDISTRIBUSI_NASIONAL", 2),
        ("REDISTRIBUSI", "REDISTRIBUSI_NASIONAL", 3),
    ]


# --- recipients outside the desil range -------------------------------------------------


def test_recipient_outside_the_range_keeps_aid_until_a_ground_check(spark: SparkSession) -> None:
    families = ("K1", "K2", "K3")
    peringkat = spark.createDataFrame(
        [("K1", "3201", 75.0, 8), ("K2", "3201", 80.0, 9), ("K3", "3201", 85.0, 9)], PERINGKAT
    )
    kelayakan_rows = spark.createDataFrame([(Q2, k, None, True, []) for k in families], KELAYAKAN)
    persons = spark.createDataFrame(
        [(f"I{k}", k, f"N{k}") for k in families], f"{PERSONS}, nik string"
    )
    # K2's recipient row says it was ground-checked already.
    penerima = spark.createDataFrame(
        [("NK1", "PKH", 0), ("NK2", "PKH", 1), ("NK3", "PKH", 0)], PENERIMA
    )
    units = candidates(
        "keluarga", "PKH", 4, "desil_nasional", peringkat, kelayakan_rows, persons, penerima
    )
    quotas = spark.createDataFrame([("3201", 5)], QUOTAS)
    no_list = _empty(spark, "dtsen_keluarga_id string")

    def decide(visits: list[tuple]) -> list[tuple]:
        found = found_visits(_visits(spark, visits), Q2)
        out = allocate(with_update_flags(units, found, no_list), quotas)
        cols = ("unit_id", "sudah_groundcheck", *DECIDED_NAMES)
        return [tuple(r) for r in out.orderBy("unit_id").select(*cols).collect()]

    assert decide([]) == [
        ("K1", False, True, 3, "TETAP_BELUM_GROUNDCHECK"),
        ("K2", True, False, None, "DI_LUAR_DESIL"),
        ("K3", False, True, 3, "TETAP_BELUM_GROUNDCHECK"),
    ]
    # A DITEMUKAN visit (last period) confirms K1 outside desil 1-4: it leaves. A refusal
    # is no ground check (it excludes the family through gold/kelayakan instead).
    assert decide(
        [
            _visit(Q1, "G1", date(2025, 2, 3), "K1", "DITEMUKAN"),
            _visit(Q2, "G2", date(2025, 4, 3), "K3", "MENOLAK"),
        ]
    ) == [
        ("K1", True, False, None, "DI_LUAR_DESIL"),
        ("K2", True, False, None, "DI_LUAR_DESIL"),
        ("K3", False, True, 3, "TETAP_BELUM_GROUNDCHECK"),
    ]


# --- PBI reactivation -------------------------------------------------------------------


def test_reactivation_requests_are_granted_or_refused_with_a_reason(
    spark: SparkSession,
) -> None:
    kelayakan_rows = spark.createDataFrame(
        [(Q2, f"K{i}", f"P{i}", i != 6, [] if i != 6 else ["MENINGGAL"]) for i in range(1, 7)],
        KELAYAKAN,
    )
    history = spark.createDataFrame(
        [
            ("2024Q4", "PBI", "K1", "P1", True, True),  # received before, absent in Q1
            (Q1, "PBI", "K2", "P2", True, False),  # dropped in Q1
            (Q1, "PBI", "K3", "P3", True, False),
            (Q1, "PBI", "K4", "P4", True, True),  # still a member in Q1
            (Q1, "PKH", "K5", None, True, True),  # P5's family had PKH, never PBI
            (Q1, "PBI", "K6", "P6", True, False),
        ],
        KEPUTUSAN_LALU_SCHEMA,
    )

    def request(person, keluarga, day, dinsos, faskes, periode=Q2):
        return (periode, person, keluarga, date(2025, 4, day), "KRONIS", dinsos, faskes)

    requests = spark.createDataFrame(
        [
            request("P1", "K1", 1, 1, 1),
            request("P2", None, 2, 0, 1),  # the family comes from the register
            request("P3", "K3", 3, 1, None),
            request(None, None, 4, 1, 1),  # NIK not found
            request("P4", "K4", 5, 1, 1),
            request("P5", "K5", 6, 1, 1),
            request("P6", "K6", 7, 1, 1),
            request("P1", "K1", 8, 1, 1, periode=Q1),  # another period's request
        ],
        PERMINTAAN_SCHEMA,
    )

    out = decide_requests(Q2, requests, kelayakan_rows, history).orderBy("tanggal")

    def decided(person, keluarga, day, status, why):
        return (Q2, person, keluarga, date(2025, 4, day), "KRONIS", status, why)

    expected = spark.createDataFrame(
        [
            decided("P1", "K1", 1, "DIAKTIFKAN", None),
            decided("P2", "K2", 2, "DITOLAK", "TANPA_SURAT_DINSOS"),
            decided("P3", "K3", 3, "DITOLAK", "TANPA_SURAT_FASKES"),
            decided(None, None, 4, "DITOLAK", "TIDAK_DIKENAL"),
            decided("P4", "K4", 5, "DITOLAK", "MASIH_PESERTA"),
            decided("P5", "K5", 6, "DITOLAK", "BELUM_PERNAH_PBI"),
            decided("P6", "K6", 7, "DITOLAK", "TIDAK_LAYAK"),
        ],
        REAKTIVASI_SCHEMA,
    )
    assert_df_equality(out, expected, ignore_nullable=True)


def test_reactivation_keeps_two_periods_then_drops_unless_ground_checked(
    spark: SparkSession,
) -> None:
    def granted(periode, person, day, status="DIAKTIFKAN"):
        return (periode, person, f"K{person}", day, "KRONIS", status, None)

    reaktivasi = spark.createDataFrame(
        [
            granted(Q2, "A", date(2025, 5, 1)),  # one period ago
            granted(Q1, "B", date(2025, 2, 1)),  # two periods ago, never checked
            granted(Q1, "C", date(2025, 2, 1)),  # two periods ago, found in Q2
            granted("2024Q4", "D", date(2024, 11, 1)),  # three periods ago
            granted(Q3, "E", date(2025, 8, 10)),  # this period, visited before the request
            granted(Q3, "F", date(2025, 8, 10)),  # this period, visited after it
            granted(Q2, "G", date(2025, 5, 1), status="DITOLAK"),
        ],
        REAKTIVASI_SCHEMA,
    )
    persons = spark.createDataFrame([(p, f"K{p}") for p in "ABCDEFG"], PERSONS)
    visits = _visits(
        spark,
        [
            _visit(Q2, "G1", date(2025, 5, 5), "KC", "DITEMUKAN"),
            _visit(Q2, "G2", date(2025, 5, 6), "KB", "MENOLAK"),  # not a DITEMUKAN check
            _visit(Q3, "G3", date(2025, 7, 20), "KE", "DITEMUKAN"),
            _visit(Q3, "G4", date(2025, 8, 15), "KF", "DITEMUKAN"),
        ],
    )

    out = reactivation_state(Q3, reaktivasi, persons, found_visits(visits, Q3))

    expected = spark.createDataFrame(
        [
            # person, family, reactivated in, kept, dropped at deadline, receiving, due
            ("A", "KA", Q2, True, False, True, True),
            ("B", "KB", Q1, False, True, True, False),
            ("C", "KC", Q1, False, False, True, False),  # normal rules from now on
            ("E", "KE", Q3, True, False, False, True),
            ("F", "KF", Q3, True, False, False, False),
        ],
        f"{PERSONS}, periode_reaktivasi string, reaktivasi boolean, batas_reaktivasi boolean,"
        " penerima boolean, jatuh_tempo boolean",
    )
    assert_df_equality(out.orderBy("dtsen_individu_id"), expected, ignore_nullable=True)


# --- the ground-check queue -------------------------------------------------------------


def test_queue_lists_each_family_once_with_its_reasons_and_priority(spark: SparkSession) -> None:
    keputusan = spark.createDataFrame(
        [
            ("K1", True, True, False, False),  # recipient outside the range, never checked
            ("K2", True, True, False, True),  # outside, but checked
            ("K3", True, True, True, False),  # in range
            ("K1", False, True, True, False),  # K1 in another program: one row still
        ],
        "dtsen_keluarga_id string, penerima boolean, layak boolean, dalam_desil boolean,"
        " sudah_groundcheck boolean",
    )
    peringkat = spark.createDataFrame(
        [("K1", "3201", 65.0, 7), ("K4", "3201", 25.0, 3), ("K10", "3201", 15.0, 2)], PERINGKAT
    )

    def objection(periode, id_sanggahan, jenis, keluarga, status="DIPROSES"):
        person = keluarga and f"I{keluarga}"
        return (periode, id_sanggahan, jenis, person, keluarga, status, None)

    sanggahan = spark.createDataFrame(
        [
            objection(Q2, "S1", "TIDAK_LAYAK", "K1"),
            objection(Q1, "S2", "SUDAH_MENINGGAL", "K4"),  # no visit since: still queued
            objection(Q1, "S3", "BUKAN_ANGGOTA", "K5"),  # K5 visited in Q2
            objection(Q2, "S4", "LAINNYA", "K6"),  # not an objection kind
            objection(Q2, "S5", "TIDAK_LAYAK", None, "TIDAK_DIKENAL"),  # target unknown
            objection(Q2, "S6", "SUDAH_MENINGGAL", "K9", "TERKONFIRMASI"),  # Dukcapil agrees
        ],
        SANGGAHAN_SCHEMA,
    )

    def proposal(id_usulan, keluarga, status):
        return (Q2, id_usulan, date(2025, 4, 1), "MANDIRI", keluarga, status, None, False, None)

    usulan = spark.createDataFrame(
        [
            proposal("U1", "K7", "BARU_MENUNGGU_GC"),  # new family, not ranked yet
            proposal("U2", "K8", "BARU_MENUNGGU_GC"),  # its visit is in
            proposal("U3", "K9", "SUDAH_ADA"),
        ],
        USULAN_SCHEMA,
    )
    visits = _visits(
        spark,
        [
            _visit(Q2, "G1", date(2025, 4, 5), "K5", "DITEMUKAN"),
            _visit(Q2, "G2", date(2025, 4, 6), None, "ALAMAT_TIDAK_DITEMUKAN", id_usulan="U2"),
        ],
    )
    due = spark.createDataFrame([("K10",)], "dtsen_keluarga_id string")

    out = antrian_groundcheck(Q2, keputusan, peringkat, visits, usulan, sanggahan, due)

    expected = spark.createDataFrame(
        [
            (Q2, "K1", ["PENERIMA_DI_LUAR_DESIL", "SANGGAHAN"], 18),  # (2 - 1) * 11 + 7
            (Q2, "K10", ["REAKTIVASI_JATUH_TEMPO"], 2),  # (1 - 1) * 11 + 2
            (Q2, "K4", ["SANGGAHAN"], 14),  # (2 - 1) * 11 + 3
            (Q2, "K7", ["USULAN_BELUM_VERIFIKASI"], 44),  # (4 - 1) * 11 + 11 (no desil)
        ],
        "periode string, dtsen_keluarga_id string, alasan array<string>, prioritas int",
    )
    assert_df_equality(out.orderBy("dtsen_keluarga_id"), expected, ignore_nullable=True)


# --- one period end to end, through allocate_programs ------------------------------------


def test_a_reactivated_member_is_allocated_and_queued(spark: SparkSession) -> None:
    """P1 (desil 10) was dropped in Q1 and asks for reactivation with both letters in Q2:
    granted, kept on PBI ahead of the others, and queued for the visit that decides."""
    persons = spark.createDataFrame(
        [("P1", "K1", "N1"), ("P2", "K2", "N2"), ("P3", "K2", "N3")], f"{PERSONS}, nik string"
    )
    peringkat = spark.createDataFrame([("K1", "3201", 95.0, 10), ("K2", "3201", 5.0, 1)], PERINGKAT)
    kelayakan_rows = spark.createDataFrame(
        [(Q2, k, p, True, []) for p, k in (("P1", "K1"), ("P2", "K2"), ("P3", "K2"))]
        + [(Q2, k, None, True, []) for k in ("K1", "K2")],
        KELAYAKAN,
    )
    updates = UpdateInputs(
        groundcheck=_empty(spark, GROUNDCHECK_SCHEMA),
        usulan=_empty(spark, USULAN_SCHEMA),
        sanggahan=_empty(spark, SANGGAHAN_SCHEMA),
        permintaan=spark.createDataFrame(
            [(Q2, "P1", "K1", date(2025, 4, 2), "KATASTROFIK", 1, 1)], PERMINTAAN_SCHEMA
        ),
        keputusan_lalu=spark.createDataFrame(
            [(Q1, "PBI", "K1", "P1", True, False)], KEPUTUSAN_LALU_SCHEMA
        ),
        reaktivasi_lalu=_empty(spark, REAKTIVASI_SCHEMA),
    )
    pbi = ProgramConfig(unit="individu", max_desil=5, national_quota=96_000_000)

    result = allocate_programs(
        {"PBI": pbi},
        Q2,
        144_000_000,  # 3 persons of 144 M: a quota of 2
        peringkat,
        kelayakan_rows,
        persons,
        spark.createDataFrame([("N2", "PBI", 0)], PENERIMA),
        spark.createDataFrame([("3201", 100)], "kode_kab string, penduduk_miskin long"),
        updates,
    )
    try:
        decisions = result.keputusan.orderBy("dtsen_individu_id").select(
            "dtsen_individu_id", *DECIDED_NAMES
        )
        assert [tuple(r) for r in decisions.collect()] == [
            ("P1", True, 1, "REAKTIVASI"),
            ("P2", True, 2, "TETAP"),
            ("P3", False, 6, None),
        ]
        assert [tuple(r) for r in result.reaktivasi.select("status").collect()] == [("DIAKTIFKAN",)]
        assert [tuple(r) for r in result.antrian.collect()] == [
            (Q2, "K1", ["REAKTIVASI_JATUH_TEMPO"], 10)
        ]
        figures = update_summary(result.antrian, result.reaktivasi)
        assert figures == {
            "antrian": {"keluarga": 1, "alasan": {"REAKTIVASI_JATUH_TEMPO": 1}},
            "reaktivasi": {"DIAKTIFKAN": 1},
        }
        text = format_figures({"periode": Q2, "penduduk": 3, "program": [], **figures})
        assert "    REAKTIVASI_JATUH_TEMPO" in text and "    DIAKTIFKAN" in text
    finally:
        result.release()


# --- reading the update tables ----------------------------------------------------------


def test_update_tables_read_by_period_and_as_empty_when_absent(
    spark: SparkSession, tmp_path: Path
) -> None:
    storage = Storage(spark, str(tmp_path / "warehouse"), engine="delta-rs")
    schema = "periode string, id string"

    absent = read_periods(storage, "gold/sanggahan", Q2, SANGGAHAN_SCHEMA)
    assert absent.isEmpty() and absent.schema == _empty(spark, SANGGAHAN_SCHEMA).schema

    rows = spark.createDataFrame([(Q1, "a", 1), (Q2, "b", 2), (Q3, "c", 3)], f"{schema}, extra int")
    storage.write(rows, "gold/contoh", partition_by=["periode"])

    def ids(span: str) -> list[tuple]:
        frame = read_periods(storage, "gold/contoh", Q2, schema, span)
        return sorted(tuple(r) for r in frame.collect())  # only the schema's columns

    assert (ids("upto"), ids("before"), ids("only")) == (
        [(Q1, "a"), (Q2, "b")],
        [(Q1, "a")],
        [(Q2, "b")],
    )

    with pytest.raises(StorageError, match=r"missing columns \['status'\]"):
        read_periods(storage, "gold/contoh", Q2, f"{schema}, status string")
