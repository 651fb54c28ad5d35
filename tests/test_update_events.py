"""Hand-built two-period registers, one event each: what an update keeps, mints, merges
and splits, and what it makes of visits, proposals and objections."""

from __future__ import annotations

import datetime as dt

from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from linkage import family_events, fieldwork, incremental, registry

SALT = "test-salt"
PERIODE = "2025Q2"


def _sorted(frame):
    return frame.orderBy(*frame.columns)


def test_new_kks_are_splits_moves_or_new_families(spark: SparkSession) -> None:
    link_keluarga = spark.createDataFrame(
        [("dukcapil", "KK1", "K_A"), ("dukcapil", "KK2", "K_B"), ("regsosek", "R1", "K_A")],
        "sumber string, id_keluarga string, dtsen_keluarga_id string",
    )
    anchors = spark.createDataFrame(
        [
            ("P1", "KK1", 1),  # the head stays on KK1: K_A is still held
            ("P2", "KK1", 4),
            ("P3", "KK3", 1),  # a child left K_A with a KK of their own: a split
            ("P4", "KK4", 1),  # K_B's whole family on a reissued KK: a move
            ("P5", "KK4", 4),
            ("P6", "KK5", 1),  # nobody known: a new family
        ],
        "dtsen_individu_id string, id_keluarga string, hubungan int",
    )
    previous = spark.createDataFrame(
        [("P1", "K_A"), ("P2", "K_A"), ("P3", "K_A"), ("P4", "K_B"), ("P5", "K_B")],
        "dtsen_individu_id string, dtsen_keluarga_id string",
    )
    rows, log = family_events.new_kk_families(link_keluarga, anchors, previous, PERIODE, SALT)
    new3 = spark.range(1).select(registry.family_id(F.lit("dukcapil:KK3"), SALT)).first()[0]
    new5 = spark.range(1).select(registry.family_id(F.lit("dukcapil:KK5"), SALT)).first()[0]
    assert sorted(map(tuple, rows.collect())) == [
        ("dukcapil", "KK3", new3),
        ("dukcapil", "KK4", "K_B"),
        ("dukcapil", "KK5", new5),
    ]
    assert sorted(map(tuple, log.collect()), key=str) == sorted(
        [
            (PERIODE, "keluarga", None, new5, "BARU", "dukcapil"),
            (PERIODE, "keluarga", "K_A", new3, "PISAH", "dukcapil"),
        ],
        key=str,
    )


def _resolve(spark, register_rows, new_rows, edge_rows, born_rows):
    from splink import SparkAPI

    register = spark.createDataFrame(
        register_rows, "uid string, dtsen_individu_id string, anchor boolean"
    )
    new = spark.createDataFrame(new_rows, "uid string, sumber string, anchor boolean")
    edges = spark.createDataFrame(
        edge_rows, "uid_l string, uid_r string, match_probability double, metode string"
    )
    riwayat = spark.createDataFrame(
        [(p, "individu", None, i, "BARU", "regsosek") for p, i in born_rows],
        ", ".join(f"{c} string" for c in registry.RIWAYAT_COLUMNS),
    )
    return incremental.resolve(
        SparkAPI(spark_session=spark), new, register, edges, riwayat, PERIODE, SALT
    )


def test_new_records_attach_mint_and_merge_with_the_oldest_id_surviving(
    spark: SparkSession,
) -> None:
    assigned, merged, log = _resolve(
        spark,
        [
            ("regsosek:1", "P_NEW", False),
            ("dtks:2", "P_OLD", False),
            ("dukcapil:3", "P_D3", True),
            ("dukcapil:6", "P_D6", True),
        ],
        [
            ("groundcheck:1", "groundcheck", False),
            ("groundcheck:2", "groundcheck", False),
            ("groundcheck:3", "groundcheck", False),
            ("dukcapil:4", "dukcapil", True),
            ("usulan:4", "usulan", False),
            ("groundcheck:5", "groundcheck", False),
        ],
        [
            # gc:1 is the same person as two registered persons: new evidence joins them.
            ("regsosek:1", "groundcheck:1", 0.99, "probabilistik"),
            ("dtks:2", "groundcheck:1", 0.98, "probabilistik"),
            ("dukcapil:3", "groundcheck:2", 1.0, "nik"),
            ("dukcapil:4", "usulan:4", 1.0, "nik"),
            # gc:5 resembles two anchored persons: it joins the stronger, they stay apart.
            ("dukcapil:3", "groundcheck:5", 0.99, "probabilistik"),
            ("dukcapil:6", "groundcheck:5", 0.97, "probabilistik"),
        ],
        [("2025Q1", "P_NEW"), ("2024Q4", "P_OLD"), ("2025Q1", "P_D3"), ("2025Q1", "P_D6")],
    )
    minted_3 = spark.range(1).select(registry.person_id(F.lit("groundcheck:3"), SALT)).first()[0]
    minted_4 = spark.range(1).select(registry.person_id(F.lit("dukcapil:4"), SALT)).first()[0]
    ids = {r["uid"]: r["dtsen_individu_id"] for r in assigned.collect()}
    assert ids == {
        "groundcheck:1": "P_OLD",
        "groundcheck:2": "P_D3",
        "groundcheck:3": minted_3,
        "dukcapil:4": minted_4,
        "usulan:4": minted_4,
        "groundcheck:5": "P_D3",
    }
    assert [tuple(r) for r in merged.collect()] == [("P_NEW", "P_OLD")]
    assert sorted(map(tuple, log.collect()), key=str) == sorted(
        [
            (PERIODE, "individu", None, minted_3, "BARU", "groundcheck"),
            (PERIODE, "individu", None, minted_4, "BARU", "dukcapil+usulan"),
            (PERIODE, "individu", "P_NEW", "P_OLD", "GABUNG", "groundcheck"),
        ],
        key=str,
    )


def test_the_dukcapil_diff_reads_only_unseen_rows_and_names_every_change(
    spark: SparkSession,
) -> None:
    schema = ", ".join(
        ["uid string", "sumber string", "sidik_mentah bigint"]
        + [f"{c} string" for c in incremental.DIFF_COLUMNS]
    )
    row = ("KK1", "AKTIF", "3301010001", "JL MAWAR", "1", "2", "1", "SITI", "1990-01-01", "2")
    moved = ("KK7", *row[1:])
    register = spark.createDataFrame(
        [
            ("dukcapil:1", "dukcapil", 11, *row),
            ("dukcapil:2", "dukcapil", 12, *row),
            ("dukcapil:3", "dukcapil", 13, *row),
            ("dukcapil:5", "dukcapil", 15, *row),
            ("regsosek:9", "regsosek", 19, *row),
        ],
        schema,
    )
    # 1 is raw-identical; 2 moved; 3 is no longer extracted; 4 is new; 5's raw row
    # changed (spacing, say) but not in a field that counts.
    raw = spark.createDataFrame(
        [
            ("dukcapil:1", "dukcapil", 11, *row),
            ("dukcapil:2", "dukcapil", 22, *moved),
            ("dukcapil:4", "dukcapil", 14, *row),
            ("dukcapil:5", "dukcapil", 25, *row),
        ],
        schema,
    )
    fresh = incremental.unseen(register, raw)
    assert sorted(r["uid"] for r in fresh.collect()) == ["dukcapil:2", "dukcapil:4", "dukcapil:5"]
    diff = incremental.diff_dukcapil(register, raw, fresh)
    assert sorted(map(tuple, diff.collect())) == [
        ("dukcapil:1", "SAMA"),
        ("dukcapil:2", "BERUBAH"),
        ("dukcapil:3", "DIHAPUS"),
        ("dukcapil:4", "BARU"),
        ("dukcapil:5", "SAMA"),
    ]
    assert sorted(
        r["uid"] for r in incremental.current_extract(register, fresh, diff).collect()
    ) == [
        "dukcapil:1",
        "dukcapil:2",
        "dukcapil:4",
        "dukcapil:5",
    ]
    linked = register.withColumns(
        {
            "dtsen_individu_id": F.concat(F.lit("P"), F.col("uid")),
            "match_probability": F.lit(1.0),
            "metode": F.lit("nik"),
            "anchor": F.col("sumber") == "dukcapil",
            "terselesaikan": F.col("sumber") == "dukcapil",
        }
    )
    fresh_read = fresh.withColumn("anchor", F.lit(None).cast("boolean")).withColumn(
        "terselesaikan", F.lit(None).cast("boolean")
    )
    refreshed = incremental.refreshed_register(linked, fresh_read, diff)
    got = {
        r["uid"]: (r["sidik_mentah"], r["id_keluarga"], r["dtsen_individu_id"], r["anchor"])
        for r in refreshed.collect()
    }
    # The re-read rows carry their new raw fingerprint (the next update skips them); a
    # retired one forgets its own and is no anchor; nobody changes ID.
    assert got == {
        "dukcapil:1": (11, "KK1", "Pdukcapil:1", True),
        "dukcapil:2": (22, "KK7", "Pdukcapil:2", True),
        "dukcapil:3": (None, "KK1", "Pdukcapil:3", False),
        "dukcapil:5": (25, "KK1", "Pdukcapil:5", True),
        "regsosek:9": (19, "KK1", "Pregsosek:9", False),
    }


USULAN = (
    "id_usulan string, tanggal date, jalur string, no_kk string, "
    "disahkan_kepala_daerah int, program string"
)
VISITS = "id_gc string, tanggal_gc date, id_usulan string, hasil string"


def test_proposals_are_existing_new_verified_rejected_or_twice_proposed(
    spark: SparkSession,
) -> None:
    day = dt.date(2025, 4, 1)
    usulan = spark.createDataFrame(
        [
            ("U1", day, "FORMAL", None, 1, "PKH"),  # members in a ranked family
            ("U2", day, "FORMAL", None, 0, ""),  # new, verified by a visit
            ("U3", day, "MANDIRI", None, 0, ""),  # new, nobody visited yet
            ("U4", dt.date(2025, 4, 2), "MANDIRI", None, 0, ""),  # U2's family again
            ("U5", day, "FORMAL", "KK9", 0, "PBI"),  # a Dukcapil-only family, address gone
        ],
        USULAN,
    )
    members = spark.createDataFrame(
        [("U1", "P1", 1), ("U2", "P2", 1), ("U3", "P3", 1), ("U4", "P2", 1), ("U5", "P5", 1)],
        "id_usulan string, dtsen_individu_id string, hubungan int",
    )
    person_family = spark.createDataFrame(
        [("P1", "K_RANKED"), ("P5", "K_DK")], "dtsen_individu_id string, dtsen_keluarga_id string"
    )
    kk_families = spark.createDataFrame(
        [("KK9", "K_DK")], "id_keluarga string, dtsen_keluarga_id string"
    )
    ranked = spark.createDataFrame([("K_RANKED",)], "dtsen_keluarga_id string")
    visits = spark.createDataFrame(
        [("G1", day, "U2", "DITEMUKAN"), ("G2", day, "U5", "ALAMAT_TIDAK_DITEMUKAN")], VISITS
    )
    rows, log = fieldwork.proposals(
        usulan, members, person_family, kk_families, ranked, visits, PERIODE, SALT
    )
    minted = {
        u: spark.range(1).select(registry.family_id(F.lit(f"usulan:{u}"), SALT)).first()[0]
        for u in ("U2", "U3")
    }
    got = {
        r["id_usulan"]: (r["dtsen_keluarga_id"], r["status"], r["alasan"], r["program"])
        for r in rows.collect()
    }
    assert got == {
        "U1": ("K_RANKED", "SUDAH_ADA", "KELUARGA_DI_REGISTER", "PKH"),
        "U2": (minted["U2"], "BARU_TERVERIFIKASI", "TERVERIFIKASI_GROUNDCHECK", None),
        "U3": (minted["U3"], "BARU_MENUNGGU_GC", "MENUNGGU_GROUNDCHECK", None),
        "U4": (minted["U2"], "DITOLAK", "USULAN_GANDA:U2", None),
        "U5": ("K_DK", "DITOLAK", "ALAMAT_TIDAK_DITEMUKAN", "PBI"),
    }
    assert sorted(r["id_baru"] for r in log.collect()) == sorted(minted.values())


def test_objections_are_tied_to_their_target_and_followed_up(spark: SparkSession) -> None:
    day = dt.date(2025, 4, 1)
    sanggahan = spark.createDataFrame(
        [
            ("S1", day, "N_REP", "N_ANAK", "TIDAK_LAYAK", ""),
            ("S2", day, "N_REP", "N_MATI", "SUDAH_MENINGGAL", ""),
            ("S3", day, "N_REP", "N_HIDUP", "SUDAH_MENINGGAL", ""),
            ("S4", day, "N_REP", "N_PINDAH", "BUKAN_ANGGOTA", ""),  # on another KK: detached
            ("S5", day, "N_REP", "N_ANAK", "BUKAN_ANGGOTA", ""),  # same KK: to be checked
            ("S6", day, "N_REP", "N_ASING", "TIDAK_LAYAK", ""),
        ],
        "id_sanggahan string, tanggal date, nik_pelapor string, nik_sasaran string, "
        "jenis string, keterangan string",
    )
    persons = spark.createDataFrame(
        [
            ("N_REP", "P_REP", "K_A", "KK1", "AKTIF"),
            ("N_ANAK", "P_ANAK", "K_A", "KK1", "AKTIF"),
            ("N_MATI", "P_MATI", "K_A", "KK1", "MENINGGAL"),
            ("N_HIDUP", "P_HIDUP", "K_A", "KK1", "AKTIF"),
            ("N_PINDAH", "P_PINDAH", "K_C", "KK3", "AKTIF"),
        ],
        "nik string, dtsen_individu_id string, dtsen_keluarga_id string, kk string, "
        "status_dukcapil string",
    )
    listed = spark.createDataFrame(
        [("P_ANAK", "K_A"), ("P_PINDAH", "K_A")],
        "dtsen_individu_id string, dtsen_keluarga_id string",
    )
    got = {
        r["id_sanggahan"]: (
            r["dtsen_individu_id"],
            r["dtsen_keluarga_id"],
            r["status"],
            r["tindak_lanjut"],
        )
        for r in fieldwork.objections(sanggahan, persons, listed, PERIODE).collect()
    }
    assert got == {
        "S1": ("P_ANAK", "K_A", "DIPROSES", "ANTRIAN_GROUNDCHECK"),
        "S2": ("P_MATI", "K_A", "TERKONFIRMASI", "MENINGGAL_MENURUT_DUKCAPIL"),
        "S3": ("P_HIDUP", "K_A", "DIPROSES", "ANTRIAN_GROUNDCHECK"),
        "S4": ("P_PINDAH", "K_C", "DITERAPKAN", "DILEPAS_DARI_KELUARGA"),
        "S5": ("P_ANAK", "K_A", "DIPROSES", "ANTRIAN_GROUNDCHECK"),
        "S6": (None, None, "TIDAK_DIKENAL", "NIK_SASARAN_TIDAK_DITEMUKAN"),
    }


def test_a_found_visit_is_the_newest_observation_with_its_provenance(
    spark: SparkSession,
) -> None:
    from delivery.variables import FAMILY_VARIABLES

    variables = list(FAMILY_VARIABLES)
    first, second = variables[0], variables[1]
    families = spark.createDataFrame(
        [
            ("K_A", *[1] * len(variables), {first: "regsosek", second: "regsosek"}),
            ("K_B", *[1] * len(variables), {first: "p3ke"}),
        ],
        ", ".join(
            [
                "dtsen_keluarga_id string",
                *[f"{v} int" for v in variables],
                "sumber_variabel map<string,string>",
            ]
        ),
    )
    day = dt.date(2025, 5, 2)
    visits = spark.createDataFrame(
        [("G1", *[2 if v == first else None for v in variables]), ("G0", *[3] * len(variables))],
        ", ".join(["id_gc string", *[f"{v} int" for v in variables]]),
    )
    attached = spark.createDataFrame(
        [("G1", "K_A", day, "DITEMUKAN"), ("G0", "K_B", day, "MENOLAK")],
        "id_gc string, dtsen_keluarga_id string, tanggal_gc date, hasil string",
    )
    out = {
        r["dtsen_keluarga_id"]: r
        for r in fieldwork.survivorship(families, attached, visits).collect()
    }
    assert out["K_A"][first] == 2 and out["K_A"][second] == 1
    assert out["K_A"]["sumber_variabel"] == {first: "gc:G1@2025-05-02", second: "regsosek"}
    # A refusal observes nothing: the family keeps its values.
    assert out["K_B"][first] == 1 and out["K_B"]["sumber_variabel"] == {first: "p3ke"}


def test_split_families_inherit_their_origin_until_visited(spark: SparkSession) -> None:
    families = spark.createDataFrame(
        [("K_A", "KK1", 7, {"luas_lantai": "regsosek"})],
        "dtsen_keluarga_id string, no_kk string, jenis_lantai int, "
        "sumber_variabel map<string,string>",
    )
    splits = spark.createDataFrame([("K_A", "K_NEW")], "id_lama string, id_baru string")
    expected = spark.createDataFrame(
        [("K_NEW", "KK1", 7, {"luas_lantai": "pisah:K_A"})], families.schema
    )
    assert_df_equality(family_events.inherited(families, splits), expected)
