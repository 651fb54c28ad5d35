"""The update delivery's records: ground checks, proposals, objections, reactivation requests.

Drawn per chunk from the quarter frame (:mod:`delivery.synthetic.quarter`), with the RNG
stream ``default_rng([seed, RECORDS_STREAM, chunk])``, as one long frame of
:data:`RECORD` rows (``tabel`` says which table a row belongs to); the delivered tables
and their truth are projections of it (:mod:`delivery.synthetic.update_tables`). Rates
are ``generate.update``'s; what they mean (``docs/data.md``, "The update delivery"):

- **proposals** (``usulan``): families known only to Dukcapil (15%) and families that
  took a new KK this quarter (20%), weighted towards the poor (x 2 Phi(-w)); a few
  register families too (0.1%; 20 times as often when they moved and now hold another
  KK). 60% FORMAL, 40% MANDIRI; 10% made through both; the regent approved 35% of the
  formal and 5% of the app proposals; half are verified by a ground check in the same
  delivery. Members are the family's living members, each non-head left out at 5%.
- **objections** (``sanggahan``), 0.4% of register families: ``TIDAK_LAYAK`` against a
  recipient, 25 times as often a better-off one, right when the family is above the median
  (outside desil 1-5); ``BUKAN_ANGGOTA`` from the family's head, right (60%) for a member
  who took a new KK this quarter, wrong for a member who did not; ``SUDAH_MENINGGAL``,
  right (75%) for a listed member who died, wrong for a living elderly one.
- **reactivation requests**: 5% of the PBI-JK members dropped this quarter (25% when
  chronically ill) and a few other persons; 20% lack a letter.
- **ground checks**: about 9% of register families (in a registry in the first period),
  weighted x2 for recipients, x5 for an objection's family, x2 for a family with an
  inactive NIK (a death, emigration, a retired GANDA number, a missing record), with
  the outcome shares of ``groundcheck_hasil`` (a family that moved is ``PINDAH``, one
  whose members all died ``KELUARGA_TIDAK_DITEMUKAN``); plus the proposals' visits.

Hand-typed fields carry the first period's dirt (:func:`names.write_name`,
:func:`population.written_birth_dates`, :func:`population.nik_dirt`,
:func:`population.write_address`, :func:`population.row_dirt`).
"""

from __future__ import annotations

import re
from datetime import timedelta
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from delivery.synthetic import names as nm
from delivery.synthetic.population import (
    NIK_DIRT,
    ChunkContext,
    nik_dirt,
    row_dirt,
    splitmix_hex,
    write_address,
    written_birth_dates,
)
from delivery.synthetic.quarter import QUARTER_DAYS, chunk_of, conform, schema
from delivery.synthetic.settings import HASIL, JENIS_SANGGAHAN, UpdateConfig

RECORDS_STREAM = 12
TABEL = (
    "groundcheck_keluarga",
    "groundcheck_individu",
    "usulan_keluarga",
    "usulan_individu",
    "sanggahan",
    "reaktivasi",
)
STATUS_ANGGOTA = ("ADA", "TIDAK_DITEMUKAN", "MENINGGAL", "PINDAH", "BARU")
ALASAN = ("KRONIS", "KATASTROFIK", "DARURAT_MEDIS")
PROGRAM = ("PKH", "SEMBAKO", "PBI", None)
ASAL = ("DUKCAPIL_SAJA", "KK_BARU", "TERDAFTAR")
"""Where a proposed family comes from: known only to Dukcapil, formed this quarter by a
KK split, or already in the register."""
INPUT = (
    "person_key",
    "person_id",
    "family_id",
    "family_id_awal",
    "position",
    "hubungan_kk",
    "hub_awal",
    "status",
    "status_awal",
    "jenis_kelamin",
    "tanggal_lahir",
    "age",
    "nama",
    "no_kk",
    "no_kk_awal",
    "kode_wilayah",
    "kode_wilayah_awal",
    "alamat",
    "alamat_awal",
    "rt",
    "rw",
    "rt_awal",
    "rw_awal",
    "registered",
    "listed",
    "in_dukcapil",
    "has_ganda",
    "family_size",
    "w",
    "pkh",
    "sembako",
    "pbi",
    "pbi_awal",
    "pbi_dikeluarkan",
    "penyakit_kronis",
    "is_new",
    "keluarga_baru",
    "ev_pecah",
    "ev_pindah",
)
"""Columns of the quarter frame the records are drawn from."""
RECORD = schema(
    "tabel string, id_record string, id_anggota string, person_key long,"
    " pelapor_key long, family_id string, tanggal date, id_usulan string,"
    " hasil string, status_anggota string, jalur string, jenis string, alasan string,"
    " program string, keterangan string, dtsen_keluarga_id string, disahkan int,"
    " surat_dinsos int, surat_faskes int, hubungan_kk int, diamati boolean,"
    " nama_u string, tgl_u string, no_kk_u string, kode_wilayah_u string,"
    " alamat_u string, rt_u int, rw_u int, nik_dirt_u int, nik_u_u double,"
    " dup_u boolean, bad_u int, benar boolean, sudah_terdaftar boolean, asal string,"
    " ganda boolean, diverifikasi boolean, pbi_awal boolean, dikeluarkan boolean"
)
"""One row per delivered record (``person_key``: whom it is about: a member, an
objection's target, a family's head; ``pelapor_key``: an objection's reporter or a
proposal's proposer), with its values as written (``*_u``, NIK dirt codes for
:func:`assemble.written_nik`) and its truth (``benar`` ... ``dikeluarkan``)."""

_PHI = np.vectorize(NormalDist().cdf)
_ID_PREFIXES = ("GC", "GA", "US", "UA", "SG")
"""Record ids: visits, their members, proposals, their members, objections."""
_ADDRESS = re.compile(r"^(JL\.|JLN\.|JALAN|JL|GG\.|GANG|GG|DSN\.|DUSUN|DSN) (.+?)(?: NO\. (\d+))?$")
_KIND = {"JL": "JL.", "JLN": "JL.", "JALAN": "JL.", "GG": "GG.", "GANG": "GG.", "DSN": "DSN."}
_KIND.update({"DUSUN": "DSN."})
_KETERANGAN = {
    "TIDAK_LAYAK": (
        "Keluarga mampu, punya mobil",
        "Rumah permanen bertingkat dan punya usaha",
        "Anaknya bekerja sebagai PNS",
        "Punya sawah dan ternak sapi",
        "Sering membeli motor baru",
    ),
    "BUKAN_ANGGOTA": (
        "Sudah pisah KK",
        "Sudah menikah dan ikut suami",
        "Bukan anggota keluarga kami",
        "Sudah tinggal di rumah sendiri",
    ),
    "SUDAH_MENINGGAL": ("Sudah meninggal dunia", "Almarhum", "Meninggal karena sakit"),
}


# ------------------------------------------------------------------------------ Spark


def records(ctx: ChunkContext, quarter: DataFrame, rates: UpdateConfig) -> DataFrame:
    """Every record of the update delivery (:data:`RECORD`), checkpointed on disk."""
    settings = rates.model_dump()
    columns = quarter.select(*INPUT)

    def run(key: tuple[Any, ...], frame: pd.DataFrame) -> pd.DataFrame:
        out = records_chunk(int(key[0]), frame.drop(columns="_chunk"), ctx, settings)
        return conform(out, RECORD)

    drawn = (
        columns.withColumn("_chunk", chunk_of(F.col("person_key")))
        .groupBy("_chunk")
        .applyInPandas(run, RECORD)
        .localCheckpoint(eager=True, storageLevel=StorageLevel.DISK_ONLY)
    )
    return drawn


# ----------------------------------------------------------------------------- chunks


def records_chunk(
    chunk_id: int, frame: pd.DataFrame, ctx: ChunkContext, rates: dict[str, Any]
) -> pd.DataFrame:
    """One chunk's records: proposals, objections, requests, then the visits they bias."""
    rng = np.random.default_rng([ctx.seed, RECORDS_STREAM, chunk_id])
    q = frame.sort_values("person_key", kind="stable").reset_index(drop=True)
    draw = _Draw(rng, ctx, chunk_id)
    families = _current_families(q)
    proposals, members, verified = _usulan(draw, q, families, rates)
    objections = _sanggahan(draw, q, families, rates)
    requests = _reaktivasi(draw, q, rates)
    targets: set[str] = set()
    if len(objections):
        rows = q.loc[objections["person_key"].map(_labels(q))]
        targets = set(rows["family_id_awal"].fillna(rows["family_id"]))
    visits = _groundcheck(draw, q, families, rates, targets)
    checks = _verifications(draw, q, families, rates, proposals, verified)
    parts = [*visits, *checks, proposals, members, objections, requests]
    out = pd.concat([p for p in parts if len(p)], ignore_index=True)
    return out.reindex(columns=RECORD.names) if len(out) else pd.DataFrame(columns=RECORD.names)


def _labels(q: pd.DataFrame) -> pd.Series:
    return pd.Series(q.index, index=q["person_key"])


class _Draw:
    """The chunk's random draws that every kind of record shares: ids, dates, written values."""

    def __init__(self, rng: np.random.Generator, ctx: ChunkContext, chunk_id: int) -> None:
        self.rng = rng
        self.ctx = ctx
        self.dirt = ctx.dirt
        self.book = nm.NameBook()
        self.start = pd.Timestamp(ctx.reference_date)
        self._chunk = chunk_id
        self._issued: dict[str, int] = {}
        self._adults: pd.DataFrame | None = None
        self._region = pd.Series(dtype=object)
        self._pools: dict[int, dict[str, np.ndarray]] = {}

    def ids(self, prefix: str, n: int) -> np.ndarray:
        """``n`` new record ids: the prefix and a hash of (chunk, kind, serial)."""
        first = self._issued.get(prefix, 0)
        self._issued[prefix] = first + n
        # (chunk, kind, serial) packed into distinct integers: a serial below 2**24.
        kind = _ID_PREFIXES.index(prefix)
        keys = ((self._chunk * len(_ID_PREFIXES) + kind) << 24) + first + np.arange(n)
        return np.array([prefix + h for h in splitmix_hex(keys, self.ctx.seed + 31, 12)], object)

    def dates(self, n: int, days: int = QUARTER_DAYS) -> pd.Series:
        return pd.Series(self.start + pd.to_timedelta(self.rng.integers(0, days, n), unit="D"))

    def people(self, rows: pd.DataFrame) -> dict[str, Any]:
        """How a person is written by hand: name, birth date and NIK dirt."""
        n = len(rows)
        names = [
            nm.write_name(self.rng, self.book, name, self.dirt, bool(sex == 1))
            for name, sex in zip(rows["nama"], rows["jenis_kelamin"], strict=True)
        ]
        born = pd.to_datetime(rows["tanggal_lahir"]).reset_index(drop=True)
        dates = written_birth_dates(self.rng, born, "%Y-%m-%d", self.dirt)
        code, u = nik_dirt(
            self.rng, self.dirt, rows["has_ganda"].to_numpy(), rows["family_size"].to_numpy()
        )
        # A baby's NIK is often not on the papers yet.
        code = np.where(
            rows["is_new"].to_numpy() & (self.rng.random(n) < 0.3),
            NIK_DIRT.index("nik_missing"),
            code,
        )
        return {"nama_u": names, "tgl_u": dates, "nik_dirt_u": code, "nik_u_u": u}

    def lines(self, n: int) -> dict[str, Any]:
        dup, bad = row_dirt(self.rng, self.dirt, n)
        return {"dup_u": dup, "bad_u": bad}

    def address(self, alamat: pd.Series, rt: pd.Series, rw: pd.Series) -> np.ndarray:
        """Dukcapil's address as typed into a form: its own abbreviations, RT/RW inside."""
        parts = alamat.fillna("").str.extract(_ADDRESS)
        kind = parts[0].str.rstrip(".").map(_KIND).fillna("DSN.").to_numpy()
        name = parts[1].fillna(alamat.fillna("")).to_numpy(dtype=object)
        number = pd.to_numeric(parts[2], errors="coerce").fillna(1).astype(int).to_numpy()
        return write_address(
            self.rng,
            kind,
            name,
            number,
            rt.to_numpy(dtype=int),
            rw.to_numpy(dtype=int),
            self.dirt["address_rt_rw_in_text"],
        )

    def kk(self, numbers: pd.Series) -> np.ndarray:
        missing = self.rng.random(len(numbers)) < self.dirt["kk_missing"]
        return np.where(missing, None, numbers.to_numpy(dtype=object))

    def stale_ids(self, n: int, rate: float) -> np.ndarray:
        """The field app's family ids: mostly empty, sometimes one the register never issued."""
        junk = np.array(["K" + h for h in splitmix_hex(self.rng.integers(0, 2**62, n), 7, 16)])
        return np.where(self.rng.random(n) < rate, junk, None)

    def neighbours(self, q: pd.DataFrame, families: np.ndarray) -> np.ndarray:
        """A living adult outside each given family, from its kab/kota if the chunk has
        one, else its province, else anywhere (an RT officer, an app user nearby)."""
        if self._adults is None:
            adults = q[(q["status"] == "AKTIF") & (q["age"] >= 17)]
            self._adults = adults
            self._region = q.groupby("family_id")["kode_wilayah"].first()
            self._pools = {
                n: adults.groupby(adults["kode_wilayah"].str[:n]).indices for n in (4, 2)
            }
        adults = self._adults
        out = np.full(len(families), -1, dtype=np.int64)
        if not len(adults):
            return out
        for i, family in enumerate(families):
            code = self._region.get(family, "")
            pick = None
            for n, pool in self._pools.items():
                other = [j for j in pool.get(code[:n], ()) if adults["family_id"].iat[j] != family]
                if other:
                    pick = other[int(self.rng.integers(len(other)))]
                    break
            if pick is None:
                pick = int(self.rng.integers(len(adults)))
            out[i] = adults["person_key"].iat[pick]
        return out


def _current_families(q: pd.DataFrame) -> pd.DataFrame:
    """Per current family with a living member (by family id): its head's row label, its
    living members' labels, and what the draws need."""
    alive = q[q["status"] == "AKTIF"]
    heads = alive.sort_values(["family_id", "position"], kind="stable").groupby("family_id")
    heads = heads.head(1)
    living = alive.groupby("family_id").indices
    return pd.DataFrame(
        {
            "head": heads.index.to_numpy(),
            "living": [alive.index[living[f]].to_numpy() for f in heads["family_id"]],
            "registered": (heads["registered"] & ~heads["keluarga_baru"]).to_numpy(bool),
            "baru": heads["keluarga_baru"].to_numpy(bool),
            "moved": heads["ev_pindah"].to_numpy(bool),
            "poor": 2 * _PHI(-heads["w"].to_numpy()),
            "w": heads["w"].to_numpy(),
        },
        index=heads["family_id"].to_numpy(),
    )


def _rows(columns: dict[str, Any], n: int) -> pd.DataFrame:
    return pd.DataFrame({k: (v if np.ndim(v) else [v] * n) for k, v in columns.items()})


# ---------------------------------------------------------------------------- proposals


def _usulan(
    draw: _Draw, q: pd.DataFrame, families: pd.DataFrame, rates: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, list[int]]]:
    """Proposed families and their members; and, per verified proposal, its members' rows."""
    rng = draw.rng
    asal = np.where(families["registered"], 2, np.where(families["baru"], 1, 0))
    base = np.array(
        [rates["usulan_dukcapil_only"], rates["usulan_new_kk"], rates["usulan_registered"]]
    )[asal]
    base = base * np.where(families["registered"] & families["moved"], 20.0, 1.0)
    chosen = families.index[rng.random(len(families)) < np.clip(base * families["poor"], 0, 1)]
    twice = rng.random(len(chosen)) < rates["usulan_twice"]
    verify = rng.random(len(chosen)) < rates["usulan_verified"]
    rows, member_rows, verified = [], [], {}
    for i, family in enumerate(chosen):
        head = families.at[family, "head"]
        living = families.at[family, "living"]
        first = rng.random() < 0.6
        for k, formal in enumerate([first, not first][: 1 + int(twice[i])]):
            (id_usulan,) = draw.ids("US", 1)
            if formal:
                proposer = draw.neighbours(q, np.array([family]))[0]
                proposer = proposer if rng.random() < 0.7 else q.at[head, "person_key"]
            else:
                others = [m for m in living if m != head and q.at[m, "age"] >= 17]
                who = others[0] if others and rng.random() < 0.2 else head
                proposer = q.at[who, "person_key"]
            rows.append(
                {
                    "id_record": id_usulan,
                    "person_key": q.at[head, "person_key"],
                    "pelapor_key": proposer,
                    "family_id": family,
                    "jalur": "FORMAL" if formal else "MANDIRI",
                    "disahkan": int(rng.random() < (0.35 if formal else 0.05)),
                    "program": PROGRAM[rng.choice(4, p=[0.25, 0.3, 0.25, 0.2])],
                    "sudah_terdaftar": bool(families.at[family, "registered"]),
                    "asal": ASAL[int(asal[families.index.get_loc(family)])],
                    "ganda": bool(twice[i]),
                    "diverifikasi": bool(verify[i]) and k == 0,
                }
            )
            kept = [m for m in living if m == head or rng.random() >= 0.05]
            member_rows.append((id_usulan, kept))
            if verify[i] and k == 0:
                verified[id_usulan] = kept
    proposals = pd.DataFrame(rows)
    if not len(proposals):
        return proposals, pd.DataFrame(), verified
    heads = q.loc[proposals["person_key"].map(_labels(q))].reset_index(drop=True)
    proposals["tabel"] = "usulan_keluarga"
    # Verified proposals are made in the first two months, so the visit falls in the quarter.
    proposals["tanggal"] = draw.dates(len(proposals), QUARTER_DAYS - 30).dt.date.to_numpy()
    proposals["no_kk_u"] = draw.kk(heads["no_kk"])
    proposals["kode_wilayah_u"] = heads["kode_wilayah"].to_numpy()
    proposals["alamat_u"] = draw.address(heads["alamat"], heads["rt"], heads["rw"])
    for name, values in draw.lines(len(proposals)).items():
        proposals[name] = values
    members = _members(draw, q, member_rows, "usulan_individu", "UA")
    return proposals, members, verified


def _members(
    draw: _Draw,
    q: pd.DataFrame,
    lists: list[tuple[str, list[int]]],
    tabel: str,
    prefix: str,
    status: list[str] | None = None,
    hub: list[int] | None = None,
) -> pd.DataFrame:
    """Member rows of ``lists`` ((record id, row labels) pairs), written by hand."""
    labels = [m for _, kept in lists for m in kept]
    if not labels:
        return pd.DataFrame()
    rows = q.loc[labels].reset_index(drop=True)
    out = _rows(
        {
            "tabel": tabel,
            "id_record": [rid for rid, kept in lists for _ in kept],
            "id_anggota": draw.ids(prefix, len(rows)),
            "person_key": rows["person_key"].to_numpy(),
            "family_id": rows["family_id"].to_numpy(),
            "hubungan_kk": rows["hubungan_kk"].to_numpy() if hub is None else hub,
            "status_anggota": status,
            **draw.people(rows),
            **draw.lines(len(rows)),
        },
        len(rows),
    )
    if status is not None:
        out["diamati"] = out["status_anggota"].isin(["ADA", "BARU"])
    return out


# --------------------------------------------------------------------------- objections


def _sanggahan(
    draw: _Draw, q: pd.DataFrame, families: pd.DataFrame, rates: dict[str, Any]
) -> pd.DataFrame:
    rng = draw.rng
    register = families.index[families["registered"]]
    total = rng.binomial(len(register), rates["sanggahan"]) if len(register) else 0
    counts = rng.multinomial(total, [rates["sanggahan_jenis"][j] for j in JENIS_SANGGAHAN])
    alive = (q["status"] == "AKTIF").to_numpy()
    in_register = q["family_id"].isin(register).to_numpy()
    median = families["w"].median() if len(families) else 0.0
    head_of = q["family_id"].map(families["head"])
    picks: list[tuple[str, int, int, bool]] = []  # (jenis, target label, reporter label, right)

    family_programme = (q["position"] == 0) & ((q["pkh"] == 1) | (q["sembako"] == 1))
    recipient = alive & in_register & ((q["pbi"] == 1) | family_programme).to_numpy()
    # Neighbours notice a car or a new house: the few recipients above the median (2% in
    # the generator's targeting) are reported 25 times as often, about a third of reports.
    weight = 1.0 + 24.0 * (q["w"].to_numpy() > median)
    for target in _sample(rng, np.flatnonzero(recipient), counts[0], weight):
        picks.append(("TIDAK_LAYAK", target, -1, bool(q.at[target, "w"] > median)))

    left = alive & q["ev_pecah"].to_numpy()
    old_head = q["family_id_awal"].map(families["head"])
    right_pool = np.flatnonzero(left & old_head.notna().to_numpy())
    wrong_pool = np.flatnonzero(
        alive & in_register & (q["position"].to_numpy() > 0) & (q["hubungan_kk"] > 2).to_numpy()
    )
    n_right = rng.binomial(counts[1], 0.6)
    for target in _sample(rng, right_pool, n_right):
        picks.append(("BUKAN_ANGGOTA", target, int(old_head.iloc[target]), True))
    for target in _sample(rng, wrong_pool, counts[1] - min(n_right, len(right_pool))):
        picks.append(("BUKAN_ANGGOTA", target, int(head_of.iloc[target]), False))

    listed = (q["listed"] & q["registered"]).to_numpy(bool)
    dead_pool = np.flatnonzero(listed & (q["status"] == "MENINGGAL").to_numpy())
    old_pool = np.flatnonzero(listed & alive & (q["age"] >= 60).to_numpy())
    n_right = rng.binomial(counts[2], 0.75)
    for target in _sample(rng, dead_pool, n_right):
        reporter = head_of.iloc[target]
        picks.append(("SUDAH_MENINGGAL", target, -1 if pd.isna(reporter) else int(reporter), True))
    for target in _sample(rng, old_pool, counts[2] - min(n_right, len(dead_pool))):
        picks.append(("SUDAH_MENINGGAL", target, -1, False))
    if not picks:
        return pd.DataFrame()

    jenis, target, reporter, right = (list(x) for x in zip(*picks, strict=True))
    rows = q.loc[target].reset_index(drop=True)
    neighbours = draw.neighbours(q, rows["family_id"].to_numpy())
    reporter_key = [
        q.at[r, "person_key"] if r >= 0 else neighbours[i] for i, r in enumerate(reporter)
    ]
    notes = []
    for j, name in zip(jenis, rows["nama"], strict=True):
        note = _KETERANGAN[j][int(rng.integers(len(_KETERANGAN[j])))]
        notes.append(f"{note} ({name.title()})" if rng.random() < 0.4 else note)
    code, u = nik_dirt(rng, draw.dirt, rows["has_ganda"].to_numpy(), rows["family_size"].to_numpy())
    return _rows(
        {
            "tabel": "sanggahan",
            "id_record": draw.ids("SG", len(rows)),
            "person_key": rows["person_key"].to_numpy(),
            "pelapor_key": np.asarray(reporter_key, dtype=np.int64),
            "family_id": rows["family_id"].to_numpy(),
            "tanggal": draw.dates(len(rows)).dt.date.to_numpy(),
            "jenis": jenis,
            "keterangan": notes,
            "benar": right,
            "nik_dirt_u": code,
            "nik_u_u": u,
            **draw.lines(len(rows)),
        },
        len(rows),
    )


def _sample(
    rng: np.random.Generator, pool: np.ndarray, n: int, weight: np.ndarray | None = None
) -> np.ndarray:
    """``n`` of ``pool`` without replacement (all of it if smaller), by ``weight`` if given."""
    n = min(int(n), len(pool))
    if n <= 0:
        return np.empty(0, dtype=np.int64)
    p = None if weight is None else weight[pool] / weight[pool].sum()
    return rng.choice(pool, n, replace=False, p=p)


# ------------------------------------------------------------------------- reactivation


def _reaktivasi(draw: _Draw, q: pd.DataFrame, rates: dict[str, Any]) -> pd.DataFrame:
    rng = draw.rng
    alive = (q["status"] == "AKTIF").to_numpy()
    dropped = q["pbi_dikeluarkan"].to_numpy() & alive
    chronic = q["penyakit_kronis"].to_numpy() == 1
    p = np.where(dropped, rates["reaktivasi"] * np.where(chronic, 5.0, 1.0), 0.0)
    p = np.where(alive & ~dropped, rates["reaktivasi_other"], p)
    asking = np.flatnonzero(rng.random(len(q)) < np.clip(p, 0, 1))
    if not len(asking):
        return pd.DataFrame()
    rows = q.loc[asking].reset_index(drop=True)
    n = len(rows)
    reason = np.where(
        rows["penyakit_kronis"].to_numpy() == 1,
        "KRONIS",
        np.asarray(ALASAN[1:], dtype=object)[rng.integers(0, 2, n)],
    )
    missing = rng.random(n) < rates["letters_missing"]
    which = rng.choice(3, n, p=[0.5, 0.35, 0.15])  # dinsos, faskes, both
    code, u = nik_dirt(rng, draw.dirt, rows["has_ganda"].to_numpy(), rows["family_size"].to_numpy())
    return _rows(
        {
            "tabel": "reaktivasi",
            "person_key": rows["person_key"].to_numpy(),
            "family_id": rows["family_id"].to_numpy(),
            "tanggal": draw.dates(n).dt.date.to_numpy(),
            "alasan": reason,
            "surat_dinsos": np.where(missing & (which != 1), 0, 1),
            "surat_faskes": np.where(missing & (which != 0), 0, 1),
            "pbi_awal": rows["pbi_awal"].to_numpy() == 1,
            "dikeluarkan": rows["pbi_dikeluarkan"].to_numpy(),
            "nik_dirt_u": code,
            "nik_u_u": u,
            **draw.lines(n),
        },
        n,
    )


# ------------------------------------------------------------------------- ground checks


def _groundcheck(
    draw: _Draw,
    q: pd.DataFrame,
    families: pd.DataFrame,
    rates: dict[str, Any],
    objected: set[str],
) -> list[pd.DataFrame]:
    """Visits of first-period register families: the family row and its members as found."""
    rng = draw.rng
    first = q[q["family_id_awal"].notna()].assign(
        recipient=lambda f: (f["pkh"] == 1) | (f["sembako"] == 1) | (f["pbi_awal"] == 1),
        inactive=lambda f: (f["status_awal"] != "AKTIF") | f["has_ganda"] | ~f["in_dukcapil"],
    )
    flags = first.groupby("family_id_awal", sort=True)[["registered", "recipient", "inactive"]]
    flags = flags.any()
    flags = flags[flags["registered"]]
    if not len(flags):
        return []
    weight = (
        1.0
        + flags["recipient"].to_numpy()
        + 4.0 * flags.index.isin(list(objected))
        + flags["inactive"].to_numpy()
    )
    p = np.clip(rates["groundcheck"] * weight / weight.mean(), 0, 1)
    visited = flags.index[rng.random(len(flags)) < p]
    members_awal = first.groupby("family_id_awal").indices
    hasil_p = [rates["groundcheck_hasil"][h] for h in HASIL]
    visits, found_lists = [], []
    for family in visited:
        awal = first.index[members_awal[family]]
        listed = [m for m in awal if q.at[m, "listed"]]
        current = families.at[family, "living"] if family in families.index else []
        drawn = HASIL[rng.choice(len(HASIL), p=hasil_p)]
        if not len(current):
            hasil = "KELUARGA_TIDAK_DITEMUKAN"
        elif q.loc[current, "ev_pindah"].all():
            hasil = "PINDAH"
        else:
            hasil = drawn
        found = hasil == "DITEMUKAN"
        where = families.at[family, "head"] if found else awal[0]
        visits.append((family, hasil, where, found, None))
        found_lists.append(_as_found(rng, q, family, hasil, listed, current, rates))
    return _visit_rows(draw, q, visits, found_lists, 0.15)


def _as_found(
    rng: np.random.Generator,
    q: pd.DataFrame,
    family: str,
    hasil: str,
    listed: list[int],
    current: np.ndarray | list[int],
    rates: dict[str, Any],
) -> list[tuple[int, str, int]]:
    """Members of a visit as updates.md defines them: (row label, status, relationship)."""

    def hub(m: int, state: str) -> int:
        listed_as = int(q.at[m, "hub_awal"])
        present = state in ("ADA", "BARU")
        return int(q.at[m, "hubungan_kk"]) if present or not listed_as else listed_as

    if hasil == "MENOLAK":
        return []
    if hasil != "DITEMUKAN":
        state = "PINDAH" if hasil == "PINDAH" else "TIDAK_DITEMUKAN"
        return [(m, state, hub(m, state)) for m in listed]
    out = []
    for m in listed:
        if q.at[m, "status"] == "MENINGGAL":
            state = "MENINGGAL"
        elif q.at[m, "status"] != "AKTIF" or q.at[m, "family_id"] != family:
            state = "PINDAH"  # emigrated, or took another KK
        else:
            state = "TIDAK_DITEMUKAN" if rng.random() < rates["member_not_found"] else "ADA"
        out.append((m, state, hub(m, state)))
    on_list = set(listed)
    out.extend((m, "BARU", hub(m, "BARU")) for m in current if m not in on_list)
    return out


def _verifications(
    draw: _Draw,
    q: pd.DataFrame,
    families: pd.DataFrame,
    rates: dict[str, Any],
    proposals: pd.DataFrame,
    verified: dict[str, list[int]],
) -> list[pd.DataFrame]:
    """Visits verifying proposals: the proposal's members are the list the visit checks."""
    rng = draw.rng
    if not verified:
        return []
    hasil_p = [rates["groundcheck_hasil"][h] for h in HASIL]
    by_id = proposals.set_index("id_record")
    last = (draw.start + timedelta(days=QUARTER_DAYS - 1)).date()
    visits, found_lists = [], []
    for id_usulan, listed in verified.items():
        family = by_id.at[id_usulan, "family_id"]
        hasil = HASIL[rng.choice(len(HASIL), p=hasil_p)]
        visited_on = by_id.at[id_usulan, "tanggal"] + timedelta(days=int(rng.integers(3, 30)))
        where = families.at[family, "head"]
        visits.append((family, hasil, where, True, (id_usulan, min(visited_on, last))))
        current = families.at[family, "living"]
        found_lists.append(_as_found(rng, q, family, hasil, listed, current, rates))
    return _visit_rows(draw, q, visits, found_lists, 0.05)


def _visit_rows(
    draw: _Draw,
    q: pd.DataFrame,
    visits: list[tuple[str, str, int, bool, tuple[str, Any] | None]],
    found_lists: list[list[tuple[int, str, int]]],
    stale_rate: float,
) -> list[pd.DataFrame]:
    """The family rows and member rows of ``visits`` ((family, hasil, the row whose address
    is written, whether that is the current address, the proposal verified and when))."""
    if not visits:
        return []
    n = len(visits)
    family, hasil, where, current, proposal = (list(x) for x in zip(*visits, strict=True))
    rows = q.loc[where].reset_index(drop=True)
    now = np.asarray(current)
    ids = draw.ids("GC", n)
    dates = draw.dates(n).dt.date.to_numpy().copy()
    for i, link in enumerate(proposal):
        if link is not None:
            dates[i] = link[1]
    pick = {
        name: rows[name].where(now, rows[f"{name}_awal"])
        for name in ("no_kk", "kode_wilayah", "alamat", "rt", "rw")
    }
    family_rows = _rows(
        {
            "tabel": "groundcheck_keluarga",
            "id_record": ids,
            "person_key": rows["person_key"].to_numpy(),
            "family_id": family,
            "tanggal": dates,
            "id_usulan": [None if link is None else link[0] for link in proposal],
            "hasil": hasil,
            "dtsen_keluarga_id": draw.stale_ids(n, stale_rate),
            "diamati": np.asarray(hasil) == "DITEMUKAN",
            "no_kk_u": draw.kk(pick["no_kk"]),
            "kode_wilayah_u": pick["kode_wilayah"].to_numpy(),
            "alamat_u": draw.address(pick["alamat"], pick["rt"], pick["rw"]),
            "rt_u": pick["rt"].to_numpy(),
            "rw_u": pick["rw"].to_numpy(),
            **draw.lines(n),
        },
        n,
    )
    lists = [(rid, [m for m, _, _ in found]) for rid, found in zip(ids, found_lists, strict=True)]
    member_rows = _members(
        draw,
        q,
        lists,
        "groundcheck_individu",
        "GA",
        status=[state for found in found_lists for _, state, _ in found],
        hub=[h for found in found_lists for _, _, h in found],
    )
    return [family_rows, member_rows]
