"""The next quarter of the synthetic population: births, deaths, KK splits, moves, welfare.

The update delivery (``shared/contract/updates.md``) is derived from the first period's
wide person frame, one chunk of families at a time (families never span chunks), with
its own RNG stream ``default_rng([seed, QUARTER_STREAM, chunk])``: the same seed gives
the same quarter however Spark schedules it. Events over the quarter after
``generate.reference_date``, at the rates of ``generate.update`` (defaults per quarter):

- **registration**: 25% of the persons missing from the first extract register (new
  NIKs in Dukcapil that are not births);
- **deaths** (``STATUS`` -> ``MENINGGAL``): 0.06% under 60, 0.63% at 60-74, 2.3% at 75+
  (2.4, 25 and 92 per 1,000 a year: Indonesia's crude rate of about 6.7 on its age
  structure, 4.6 on the generator's younger one); a head who dies is succeeded by the
  spouse, else the oldest living member (the KK keeps its number);
- **births**: 0.4% of living persons (16 per 1,000 a year), to married women aged 18-45,
  in the mother's KK (a child of the head, or a grandchild); new NIKs continue the
  serials of their (region, birth date) group, so they never collide with a first-period
  NIK;
- **KK splits**: 3% of the families with a married child or a child-in-law: that couple
  and the grandchildren take a new KK (and a new ``family_id``), half in the same house,
  half at a new address in the desa; the head keeps the old KK and family;
- **moves**: 0.15% of families move to another kab/kota (30% to another province) with a
  new address and a new KK; the family keeps its ``family_id``, its NIKs stay;
- **welfare changes**: 5% of families change position (N(0, 0.8) on the latent index):
  half of their housing and asset variables and of their adults' jobs are redrawn, and
  their expenditure gets a shock;
- **PBI-JK drops**: 25% of members in families above the median, 1% elsewhere.

Every family's true expenditure is then recomputed with the welfare model over its
living members (a family's own residual persists, so an unchanged family keeps its
welfare up to its members' ageing). New persons and families get keys above
:data:`NEW_OFFSET` in their chunk, so ``person_id`` and ``family_id`` continue the first
period's: a person keeps theirs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from delivery.synthetic import names as nm
from delivery.synthetic.assemble import family_context, serials
from delivery.synthetic.population import (
    PERSONS_PER_CHUNK_ID,
    ChunkContext,
    random_desa,
    splitmix_hex,
    street_address,
    write_address,
)
from delivery.synthetic.settings import UpdateConfig
from delivery.synthetic.welfare import (
    expected_log_pce,
    family_variables,
    member_variables,
    urban_premium,
)
from delivery.variables import FAMILY_VARIABLES, HOUSING_VARIABLES, MEMBER_VARIABLES
from dtsen.errors import BadConfigError

QUARTER_STREAM = 11
"""RNG stream of the quarter's events (the first period uses ``[seed, chunk]``)."""
QUARTER_DAYS = 91
NEW_OFFSET = PERSONS_PER_CHUNK_ID // 2
"""Person and family indices of the quarter's newcomers within a chunk start here."""
EVENTS = ("registrasi", "meninggal", "lahir", "pecah", "pindah", "kesejahteraan")
"""``ev_<event>`` flags of the quarter frame (``kesejahteraan`` is a family's)."""
CARRIED = (
    "person_key",
    "person_id",
    "family_id",
    "is_susenas",
    "position",
    "family_size",
    "kode_wilayah",
    "urban",
    "ln_pce",
    "ln_pce_oracle",
    "w",
    "jenis_kelamin",
    "tanggal_lahir",
    "age",
    "hubungan_kk",
    *MEMBER_VARIABLES,
    *FAMILY_VARIABLES,
    "nama",
    "tempat_lahir",
    "nik",
    "nik_ganda",
    "no_kk",
    "status",
    "in_dukcapil",
    "has_ganda",
    "alamat",
    "rt",
    "rw",
    "coverage",
    "in_r",
    "in_p",
    "in_d",
    "pkh",
    "sembako",
    "pbi",
    "groundcheck",
    "bkn_status",
    "bkn_kategori",
    "upah",
    "negatif",
    "id_pln",
    "tahun_kendaraan",
)
"""Columns of the first period's person frame the quarter carries forward."""
_TYPES = {
    "string": T.StringType(),
    "int": T.IntegerType(),
    "long": T.LongType(),
    "double": T.DoubleType(),
    "boolean": T.BooleanType(),
    "date": T.DateType(),
}


def schema(columns: str) -> T.StructType:
    """A schema from ``"name type, name type, ..."`` (``string``, ``int``, ``long``,
    ``double``, ``boolean``, ``date``), every column nullable."""
    fields = [part.split() for part in columns.split(",")]
    return T.StructType([T.StructField(name, _TYPES[kind]) for name, kind in fields])


ADDED = schema(
    "family_id_awal string, status_awal string, hub_awal int, no_kk_awal string,"
    " kode_wilayah_awal string, alamat_awal string, rt_awal int, rw_awal int,"
    " listed boolean, registered boolean, is_new boolean, keluarga_baru boolean,"
    " pbi_awal int, pbi_dikeluarkan boolean, "
    + ", ".join(f"ev_{event} boolean" for event in EVENTS)
    + ", nik_baru_prefix string, nik_baru_date string, kk_baru boolean,"
    " kk_baru_prefix string, kk_baru_date string"
)
"""What the quarter adds: the first-period state (``*_awal``; ``listed``: in a registry's
list of the family; ``registered``: the first-period family is in a registry), flags of
the quarter's events, and the parts of the NIKs and KKs it issues."""
_MOVING_HOUSE = (
    *HOUSING_VARIABLES[1:],  # all but the number of families in the house
    *("bahan_bakar", "fasilitas_bab", "kloset", "pembuangan_tinja"),
)
"""The house's variables, which a family that moves house takes from its new house."""
_TOGETHER = {"daya_listrik": "penerangan", "kloset": "fasilitas_bab"}
"""Variables that only exist with another (a meter's power, a toilet's kind)."""
_JOB = ("bekerja", "lapangan_usaha", "status_pekerjaan", "punya_usaha")


def next_periode(periode: str) -> str:
    """The quarter after ``periode`` (``2025Q1`` -> ``2025Q2``, ``2025Q4`` -> ``2026Q1``)."""
    year, quarter = int(periode[:4]), int(periode[5])
    return f"{year + quarter // 4}Q{quarter % 4 + 1}"


def chunk_of(key: Column) -> Column:
    """The generation chunk of a person or family key (families never span chunks)."""
    return F.floor(key / F.lit(PERSONS_PER_CHUNK_ID)).cast("long")


def conform(frame: pd.DataFrame, schema: T.StructType) -> pd.DataFrame:
    """``frame``'s columns in ``schema``'s order, as nullable pandas types Arrow maps exactly."""
    kinds = {T.IntegerType: "Int32", T.LongType: "Int64", T.BooleanType: "boolean"}
    out = {}
    for field in schema.fields:
        column = frame[field.name]
        kind = kinds.get(type(field.dataType))
        if kind is not None:
            column = column.astype(kind)
        elif isinstance(field.dataType, T.DoubleType):
            column = column.astype("float64")
        else:  # text and dates: objects, with None for a missing value
            column = column.astype(object).where(column.notna(), None)
        out[field.name] = column
    return pd.DataFrame(out)


# ------------------------------------------------------------------------------ Spark


def advance(ctx: ChunkContext, pop: DataFrame, rates: UpdateConfig) -> DataFrame:
    """The population one quarter on, with the NIKs and KKs it issued, checkpointed on disk.

    Args:
        ctx: the first period's generation context (regions, seed, reference date).
        pop: the first period's wide person frame (:func:`assemble.population`).
        rates: the quarter's event rates (``generate.update``).
    """
    carried = pop.where(~F.col("is_susenas")).select(*CARRIED)
    schema = T.StructType([*carried.schema.fields, *ADDED.fields])
    settings = rates.model_dump()

    def run(key: tuple[Any, ...], frame: pd.DataFrame) -> pd.DataFrame:
        out = advance_chunk(int(key[0]), frame, ctx, settings, nm.NameBook())
        return conform(out, schema)

    # Local checkpoints (on disk, lineage cut): every table of the update reads these
    # frames, and planning each query over the first period's lineage would cost more
    # than running it.
    raw = (
        carried.withColumn("_chunk", chunk_of(F.col("person_key")))
        .groupBy("_chunk")
        .applyInPandas(lambda key, frame: run(key, frame.drop(columns="_chunk")), schema)
        .localCheckpoint(eager=True, storageLevel=StorageLevel.DISK_ONLY)
    )
    return family_context(issue_identifiers(raw, pop)).localCheckpoint(
        eager=True, storageLevel=StorageLevel.DISK_ONLY
    )


def _issued(numbers: DataFrame) -> DataFrame:
    """The highest serial issued per (prefix, date) among 16-digit ``number`` values."""
    return (
        numbers.where(F.col("number").rlike("^[0-9]{16}$"))
        .select(
            F.substring("number", 1, 6).alias("prefix"),
            F.substring("number", 7, 6).alias("dt"),
            F.substring("number", 13, 4).cast("int").alias("serial"),
        )
        .groupBy("prefix", "dt")
        .agg(F.max("serial").alias("after"))
    )


def _continue(holders: DataFrame, issued: DataFrame, key: str) -> DataFrame:
    """Number ``holders`` (``key``, ``prefix``, ``dt``) after the serials already issued."""
    groups = holders.select("prefix", "dt").distinct()
    after = issued.join(groups, ["prefix", "dt"], "left_semi")
    numbered = serials(holders.join(after, ["prefix", "dt"], "left"), [key], F.col("after"))
    return numbered.select(key, "number")


def issue_identifiers(quarter: DataFrame, pop: DataFrame) -> DataFrame:
    """NIKs for the quarter's births and KK numbers for its split and moved families.

    Serials continue after the highest one the first period issued in the same (region
    prefix, date) group, so a new number never repeats an old one.
    """
    people = pop.where(~F.col("is_susenas"))
    old_niks = people.select(F.col("nik").alias("number")).unionByName(
        people.select(F.col("nik_ganda").alias("number"))
    )
    heads = people.where("position = 0")
    old_kks = heads.select(F.col("no_kk").alias("number"))
    for column in ("no_kk_lama", "no_kk_pecah"):
        old_kks = old_kks.unionByName(heads.select(F.col(column).alias("number")))
    births = quarter.where("nik IS NULL AND nik_baru_prefix IS NOT NULL").select(
        "person_key", F.col("nik_baru_prefix").alias("prefix"), F.col("nik_baru_date").alias("dt")
    )
    niks = _continue(births, _issued(old_niks), "person_key").withColumnRenamed("number", "_nik")
    families = (
        quarter.where("kk_baru_prefix IS NOT NULL")
        .select(
            "family_id", F.col("kk_baru_prefix").alias("prefix"), F.col("kk_baru_date").alias("dt")
        )
        .distinct()
    )
    kks = _continue(families, _issued(old_kks), "family_id").withColumnRenamed("number", "_kk")
    return (
        quarter.join(niks, "person_key", "left")
        .join(kks, "family_id", "left")
        .withColumn("nik", F.coalesce("nik", "_nik"))
        .withColumn("no_kk", F.when(F.col("kk_baru"), F.col("_kk")).otherwise(F.col("no_kk")))
        .drop("_nik", "_kk")
    )


# ----------------------------------------------------------------------------- events


def advance_chunk(
    chunk_id: int,
    frame: pd.DataFrame,
    ctx: ChunkContext,
    rates: dict[str, Any],
    book: nm.NameBook,
) -> pd.DataFrame:
    """One chunk's persons a quarter later: the events, then the welfare they imply."""
    rng = np.random.default_rng([ctx.seed, QUARTER_STREAM, chunk_id])
    q = frame.sort_values("person_key", kind="stable").reset_index(drop=True)
    # One integer width while events rewrite values (``conform`` narrows them again).
    q = q.astype({c: np.int64 for c, kind in q.dtypes.items() if kind == np.int32})
    if len(q) >= NEW_OFFSET:
        raise BadConfigError(
            f"generate.families_per_chunk: a chunk of {len(q)} persons leaves no room for "
            f"the quarter's new persons (at most {NEW_OFFSET - 1})"
        )
    start = pd.Timestamp(ctx.reference_date)
    q = _first_period_state(q)
    # The first period's residual around the welfare model: a family keeps its luck.
    q["_residual"] = q["ln_pce"] - q["ln_pce_oracle"]
    q["_order"] = q["position"].astype(np.int64)
    _register_late(rng, q, rates)
    _deaths(rng, q, rates)
    q = _births(rng, q, ctx, rates, book, chunk_id, start)
    q = _splits(rng, q, ctx, rates, chunk_id, start)
    _moves(rng, q, ctx, rates, start)
    _succession(q)
    _welfare_changes(rng, q, rates)
    _age(q, start + timedelta(days=QUARTER_DAYS))
    _positions(q)
    _recompute_welfare(q, ctx)
    _programmes(rng, q, rates)
    _admin(rng, q)
    return q.drop(columns=["_residual", "_order"])


def _first_period_state(q: pd.DataFrame) -> pd.DataFrame:
    awal = {
        "family_id": "family_id_awal",
        "status": "status_awal",
        "hubungan_kk": "hub_awal",
        "no_kk": "no_kk_awal",
        "kode_wilayah": "kode_wilayah_awal",
        "alamat": "alamat_awal",
        "rt": "rt_awal",
        "rw": "rw_awal",
        "pbi": "pbi_awal",
    }
    for column, name in awal.items():
        q[name] = q[column]
    q["listed"] = q["in_r"] | q["in_p"] | q["in_d"]
    q["registered"] = q["coverage"] != "none"
    for flag in ("is_new", "keluarga_baru", "pbi_dikeluarkan", "kk_baru"):
        q[flag] = False
    for event in EVENTS:
        q[f"ev_{event}"] = False
    for column in ("nik_baru_prefix", "nik_baru_date", "kk_baru_prefix", "kk_baru_date"):
        q[column] = None
    return q


def _alive(q: pd.DataFrame) -> np.ndarray:
    return (q["status"] == "AKTIF").to_numpy()


def _register_late(rng: np.random.Generator, q: pd.DataFrame, rates: dict[str, Any]) -> None:
    late = ~q["in_dukcapil"].to_numpy() & _alive(q) & (rng.random(len(q)) < rates["registration"])
    q.loc[late, "in_dukcapil"] = True
    q["ev_registrasi"] = late


def _deaths(rng: np.random.Generator, q: pd.DataFrame, rates: dict[str, Any]) -> None:
    age = q["age"].to_numpy()
    hazard = np.select(
        [age < 60, age < 75],
        [rates["death_under_60"], rates["death_60_74"]],
        rates["death_75_plus"],
    )
    died = _alive(q) & (rng.random(len(q)) < hazard)
    q.loc[died, "status"] = "MENINGGAL"
    q.loc[died, "upah"] = np.nan  # wages (and BPJS-TK contributions) end
    q["ev_meninggal"] = died


def _quarter_dates(rng: np.random.Generator, n: int, start: pd.Timestamp) -> pd.Series:
    return pd.Series(start + pd.to_timedelta(rng.integers(0, QUARTER_DAYS, n), unit="D"))


def _births(
    rng: np.random.Generator,
    q: pd.DataFrame,
    ctx: ChunkContext,
    rates: dict[str, Any],
    book: nm.NameBook,
    chunk_id: int,
    start: pd.Timestamp,
) -> pd.DataFrame:
    """Babies of married women aged 18-45 (one candidate mother per family), in her KK."""
    mother = (
        _alive(q)
        & (q["jenis_kelamin"].to_numpy() == 2)
        & q["age"].between(18, 45).to_numpy()
        & (q["status_kawin"].to_numpy() == 2)
        & q["hubungan_kk"].isin([1, 2, 3, 4]).to_numpy()
    )
    candidates = q[mother].groupby("family_id", sort=False).head(1).index.to_numpy()
    rate = rates["birth"] * _alive(q).sum() / max(len(candidates), 1)
    mothers = candidates[rng.random(len(candidates)) < min(rate, 0.9)]
    if not len(mothers):
        return q
    babies = q.loc[mothers].copy().reset_index(drop=True)
    n = len(babies)
    male = rng.random(n) < 0.51
    born = _quarter_dates(rng, n, start)
    keys = chunk_id * PERSONS_PER_CHUNK_ID + NEW_OFFSET + np.arange(n)
    babies["person_key"] = keys.astype(np.int64)
    babies["person_id"] = [f"P{k:011d}" for k in keys]
    babies["jenis_kelamin"] = np.where(male, 1, 2)
    babies["tanggal_lahir"] = born.dt.date.to_numpy()
    babies["age"] = 0
    mother_hub = babies["hubungan_kk"].to_numpy()
    babies["hubungan_kk"] = np.where(np.isin(mother_hub, [1, 2]), 3, 5)
    babies["status_kawin"] = 1
    kids = member_variables(
        rng, babies["w"].to_numpy(), np.zeros(n), male, babies["urban"].to_numpy()
    )
    for column in kids.columns:
        babies[column] = kids[column].to_numpy()
    heads = q[q["position"] == 0].set_index("family_id")["nama"]
    prov = pd.Index(ctx.prov_codes).get_indexer(babies["kode_wilayah"].str[:2])
    groups = nm.family_groups(rng, ctx.prov_codes[prov])
    siblings = q.groupby(["family_id", "hubungan_kk"]).size()
    names, places = [], []
    for i in range(n):
        family = babies.at[i, "family_id"]
        surname = (
            str(heads.get(family, "")).split()[-1:] if groups[i] in ("batak", "kristen") else []
        )
        order = int(siblings.get((family, babies.at[i, "hubungan_kk"]), 0)) + 1
        names.append(
            nm.person_name(rng, book, groups[i], bool(male[i]), order, " ".join(surname)).strip()
        )
        places.append(ctx.prov_names[prov[i]])
    babies["nama"] = names
    babies["tempat_lahir"] = places
    babies["nik"] = None
    babies["nik_ganda"] = None
    babies["has_ganda"] = False
    babies["in_dukcapil"] = True
    babies["status"] = "AKTIF"
    babies["nik_baru_prefix"] = babies["kode_wilayah"].str[:6]
    babies["nik_baru_date"] = [
        f"{d.day + (40 if not m else 0):02d}{d.month:02d}{d.year % 100:02d}"
        for d, m in zip(born, male, strict=True)
    ]
    for column in ("family_id_awal", "status_awal", "no_kk_awal"):
        babies[column] = None
    babies["hub_awal"] = 0
    babies["pbi_awal"] = 0
    babies["pbi"] = ((babies["pbi"].to_numpy() == 1) & (rng.random(n) < 0.8)).astype(np.int32)
    for column in ("listed", "in_r", "in_p", "in_d", "negatif", "ev_registrasi"):
        babies[column] = False
    babies["bkn_status"] = None
    babies["bkn_kategori"] = None
    babies["upah"] = np.nan
    babies["tahun_kendaraan"] = rng.integers(2000, 2025, n)
    babies["is_new"] = True
    babies["ev_lahir"] = True
    babies["ev_meninggal"] = False
    babies["_order"] = 1000 + np.arange(n)
    return pd.concat([q, babies], ignore_index=True)


def _leavers(members: pd.DataFrame) -> tuple[list[int], int | None]:
    """The couple that leaves a family on a split (its first married child or child-in-law
    as head, that person's spouse) and the grandchildren: row labels, and the new head's."""
    alive = members[members["status"] == "AKTIF"]
    married_child = alive[(alive["hubungan_kk"] == 3) & (alive["status_kawin"] == 2)]
    in_law = alive[alive["hubungan_kk"] == 4]
    if len(married_child):
        head = married_child.index[0]
        spouses = in_law[in_law["jenis_kelamin"] != alive.at[head, "jenis_kelamin"]]
    elif len(in_law):
        head, spouses = in_law.index[0], in_law.iloc[0:0]
    else:
        return [], None
    grandchildren = alive[alive["hubungan_kk"] == 5].index.tolist()
    return [head, *spouses.index[:1].tolist(), *grandchildren], head


def _splits(
    rng: np.random.Generator,
    q: pd.DataFrame,
    ctx: ChunkContext,
    rates: dict[str, Any],
    chunk_id: int,
    start: pd.Timestamp,
) -> pd.DataFrame:
    """A married child's couple takes its own KK: a new family, in the house or nearby."""
    alive = _alive(q)
    hub = q["hubungan_kk"].to_numpy()
    couple = alive & (((hub == 3) & (q["status_kawin"].to_numpy() == 2)) | (hub == 4))
    stats = pd.DataFrame({"f": q["family_id"], "alive": alive, "couple": couple})
    per_family = stats.groupby("f", sort=True).agg(alive=("alive", "sum"), couple=("couple", "any"))
    eligible = per_family.index[(per_family["alive"] >= 3) & per_family["couple"]]
    chosen = eligible[rng.random(len(eligible)) < rates["kk_split"]]
    issue = _quarter_dates(rng, len(chosen), start)
    same_house = rng.random(len(chosen)) < 0.5
    for k, family in enumerate(chosen):
        members = q[q["family_id"] == family]
        leaving, head = _leavers(members)
        if head is None:
            continue
        new_id = f"F{chunk_id * PERSONS_PER_CHUNK_ID + NEW_OFFSET + k:011d}"
        q.loc[leaving, "hubungan_kk"] = np.where(
            np.asarray(leaving) == head, 1, np.where(q.loc[leaving, "hubungan_kk"] == 5, 3, 2)
        )
        q.loc[leaving, "family_id"] = new_id
        q.loc[leaving, ["ev_pecah", "keluarga_baru", "kk_baru"]] = True
        q.loc[leaving, ["pkh", "sembako", "groundcheck"]] = 0
        q.loc[leaving, "kk_baru_prefix"] = q.at[head, "kode_wilayah"][:6]
        q.loc[leaving, "kk_baru_date"] = issue.iloc[k].strftime("%d%m%y")
        q.loc[leaving, "_residual"] += rng.normal(0, 0.3)
        if same_house[k]:
            # Two families in one house: the meter stays with the family that keeps the KK.
            both = q["family_id"].isin([family, new_id])
            q.loc[both, "jumlah_keluarga_dalam_rumah"] = np.minimum(
                q.loc[both, "jumlah_keluarga_dalam_rumah"] + 1, 20
            )
            q.loc[leaving, "id_pln"] = None
        else:
            _new_house(rng, q, leaving, ctx)
    return q


def _new_house(
    rng: np.random.Generator, q: pd.DataFrame, rows: list[int] | np.ndarray, ctx: ChunkContext
) -> None:
    """The family of ``rows`` lives at a new address of its desa, in a house drawn anew."""
    urban = np.array([bool(q.at[rows[0], "urban"])])
    kind, name, number, rt, rw = street_address(rng, urban)
    q.loc[rows, "alamat"] = write_address(rng, kind, name, number, rt, rw, 0.0)[0]
    q.loc[rows, "rt"] = int(rt[0])
    q.loc[rows, "rw"] = int(rw[0])
    house = family_variables(
        rng, np.array([q.at[rows[0], "w"]]), np.array([len(rows)]), urban
    ).iloc[0]
    for column in _MOVING_HOUSE:
        q.loc[rows, column] = house[column]
    q.loc[rows, "jumlah_keluarga_dalam_rumah"] = 1
    q.loc[rows, "id_pln"] = None  # a new customer number, issued by _admin if metered


def _moves(
    rng: np.random.Generator,
    q: pd.DataFrame,
    ctx: ChunkContext,
    rates: dict[str, Any],
    start: pd.Timestamp,
) -> None:
    """Whole families move to another kab/kota (30% to another province): new address, new KK."""
    alive = _alive(q)
    settled = q.loc[alive & ~q["keluarga_baru"].to_numpy() & ~q["is_new"].to_numpy()]
    families = np.array(sorted(set(settled["family_id"])), dtype=object)
    movers = families[rng.random(len(families)) < rates["move"]]
    issue = _quarter_dates(rng, len(movers), start)
    codes = pd.Index(ctx.prov_codes)
    for k, family in enumerate(movers):
        rows = q.index[(q["family_id"] == family) & alive]
        here = q.at[rows[0], "kode_wilayah"]
        prov = codes.get_loc(here[:2])
        if rng.random() < 0.3:
            prov = int(rng.choice(len(ctx.prov_codes), p=ctx.prov_share))
        desa = random_desa(rng, ctx, np.array([prov]))[0]
        for _ in range(5):  # another kab/kota, unless the province has only this one
            if ctx.desa_codes[desa][:4] != here[:4]:
                break
            desa = random_desa(rng, ctx, np.array([prov]))[0]
        q.loc[rows, "kode_wilayah"] = ctx.desa_codes[desa]
        q.loc[rows, "urban"] = bool(ctx.desa_urban[desa])
        _new_house(rng, q, rows, ctx)
        q.loc[rows, ["ev_pindah", "kk_baru"]] = True
        q.loc[rows, "kk_baru_prefix"] = ctx.desa_codes[desa][:6]
        q.loc[rows, "kk_baru_date"] = issue.iloc[k].strftime("%d%m%y")


def _succession(q: pd.DataFrame) -> None:
    """A head who died this quarter is succeeded by the spouse, else the oldest living member."""
    alive = _alive(q)
    for family in q.loc[q["ev_meninggal"] & (q["hubungan_kk"] == 1), "family_id"].unique():
        living = q[(q["family_id"] == family) & alive]
        if not len(living) or (living["hubungan_kk"] == 1).any():
            continue
        spouse = living[living["hubungan_kk"] == 2]
        heir = spouse.index[0] if len(spouse) else living["age"].idxmax()
        q.at[heir, "hubungan_kk"] = 1


def _welfare_changes(rng: np.random.Generator, q: pd.DataFrame, rates: dict[str, Any]) -> None:
    """A job found or lost, assets bought or sold: half the variables redrawn at a new position."""
    alive = _alive(q)
    families = np.array(sorted(set(q.loc[alive, "family_id"])), dtype=object)
    changed = families[rng.random(len(families)) < rates["welfare_change"]]
    if not len(changed):
        return
    shift = pd.Series(rng.normal(0, 0.8, len(changed)), index=changed)
    heads = q[q["family_id"].isin(changed) & alive].groupby("family_id").head(1)
    heads = heads.set_index("family_id").loc[changed]
    size = q[alive].groupby("family_id").size().loc[changed].to_numpy()
    new = family_variables(
        rng, heads["w"].to_numpy() + shift.to_numpy(), size, heads["urban"].to_numpy()
    )
    new.index = changed
    for column in FAMILY_VARIABLES:
        if column in _TOGETHER:
            continue  # redrawn with the variable it belongs to
        rows = q["family_id"].isin(changed[rng.random(len(changed)) < 0.5])
        dependent = [name for name, partner in _TOGETHER.items() if partner == column]
        for name in (column, *dependent):
            q.loc[rows, name] = q.loc[rows, "family_id"].map(new[name]).to_numpy()
    members = q.index[q["family_id"].isin(changed) & alive & (q["age"] >= 15)]
    position = q.loc[members, "w"].to_numpy() + q.loc[members, "family_id"].map(shift).to_numpy()
    jobs = member_variables(
        rng,
        position,
        q.loc[members, "age"].to_numpy(),
        q.loc[members, "jenis_kelamin"].to_numpy() == 1,
        q.loc[members, "urban"].to_numpy().astype(bool),
    )
    take = rng.random(len(members)) < 0.5
    for column in _JOB:
        q.loc[members[take], column] = jobs[column].to_numpy()[take]
    rows = q["family_id"].isin(changed)
    q.loc[rows, "_residual"] += (
        0.15 * q.loc[rows, "family_id"].map(shift) + rng.normal(0, 0.2, rows.sum())
    ).to_numpy()
    q.loc[rows, "ev_kesejahteraan"] = True


def _age(q: pd.DataFrame, on: pd.Timestamp) -> None:
    born = pd.to_datetime(q["tanggal_lahir"])
    q["age"] = np.floor((on - born).dt.days / 365.25).clip(lower=0).astype(np.int32)


def _positions(q: pd.DataFrame) -> None:
    """Position in the current family: the living head first, the living before the dead."""
    q["_dead"] = ~_alive(q)
    q["_not_head"] = q["hubungan_kk"] != 1
    ranked = q.sort_values(["family_id", "_dead", "_not_head", "_order", "person_key"])
    q["position"] = ranked.groupby("family_id").cumcount().reindex(q.index).astype(np.int32)
    q["family_size"] = q.groupby("family_id")["person_key"].transform("size").astype(np.int32)
    q.drop(columns=["_dead", "_not_head"], inplace=True)


def _recompute_welfare(q: pd.DataFrame, ctx: ChunkContext) -> None:
    """Every current family's expenditure from the welfare model over its living members."""
    alive = _alive(q)
    living = q[alive]
    if not len(living):
        return
    codes, fam_of = np.unique(living["family_id"].to_numpy(dtype=str), return_inverse=True)
    first = living.sort_values("position").groupby("family_id").head(1).set_index("family_id")
    first = first.loc[codes]
    prov = pd.Index(ctx.prov_codes).get_indexer(first["kode_wilayah"].str[:2])
    urban = first["urban"].to_numpy().astype(bool)
    level = ctx.prov_mu[prov] + urban_premium(ctx.seed, len(ctx.prov_codes))[prov] * urban
    fam = first[list(FAMILY_VARIABLES)].reset_index(drop=True)
    fam = fam.astype({c: np.int64 for c in FAMILY_VARIABLES if c != "luas_lantai"})
    oracle = expected_log_pce(
        level,
        urban,
        fam.astype({"luas_lantai": np.float64}),
        living[list(MEMBER_VARIABLES)].reset_index(drop=True).astype(np.int64),
        fam_of,
        living["age"].to_numpy(),
        (living["position"] == 0).to_numpy(),
    )
    ln_pce = oracle + first["_residual"].to_numpy()
    oracle_of = pd.Series(oracle, index=codes)
    ln_pce_of = pd.Series(ln_pce, index=codes)
    current = q["family_id"].isin(codes)
    q.loc[current, "ln_pce_oracle"] = q.loc[current, "family_id"].map(oracle_of).to_numpy()
    q.loc[current, "ln_pce"] = q.loc[current, "family_id"].map(ln_pce_of).to_numpy()
    q["w"] = (q["ln_pce"] - ctx.w_center) / ctx.log_pce_sd


def _programmes(rng: np.random.Generator, q: pd.DataFrame, rates: dict[str, Any]) -> None:
    """PBI-JK members dropped: mostly in families above the median (desil 6-10)."""
    alive = _alive(q)
    families = q[alive].groupby("family_id")["w"].first()
    upper = q["w"].to_numpy() > families.median() if len(families) else np.zeros(len(q), bool)
    drop = np.where(upper, rates["pbi_drop_upper"], rates["pbi_drop"])
    dropped = alive & (q["pbi"].to_numpy() == 1) & ~q["is_new"].to_numpy()
    dropped &= rng.random(len(q)) < drop
    q.loc[dropped, "pbi"] = 0
    q["pbi_dikeluarkan"] = dropped


def _admin(rng: np.random.Generator, q: pd.DataFrame) -> None:
    """PLN customers, BKN staff and BPJS-TK wages as the quarter leaves them."""
    family_key = q["family_id"].str[1:].astype(np.int64).to_numpy()
    metered = q["penerangan"].to_numpy() == 1
    fresh = splitmix_hex(family_key, 4243, 12)
    q["id_pln"] = np.where(metered, q["id_pln"].where(q["id_pln"].notna(), pd.Series(fresh)), None)
    changed = q["ev_kesejahteraan"].to_numpy() & _alive(q)
    status = q["status_pekerjaan"].to_numpy()
    working = q["bekerja"].to_numpy() == 1
    joins = changed & working & (status == 5) & (q["bkn_status"] != "AKTIF").to_numpy()
    leaves = changed & (q["bkn_status"] == "AKTIF").to_numpy() & ~(working & (status == 5))
    q.loc[joins, "bkn_status"] = "AKTIF"
    q.loc[joins, "bkn_kategori"] = "ASN"
    q.loc[leaves, ["bkn_status", "bkn_kategori"]] = None
    employee = changed & working & np.isin(status, [4, 5])
    wage = (
        np.exp(q["ln_pce"].to_numpy()) * q["family_size"].to_numpy() * rng.uniform(0.5, 1.1, len(q))
    )
    q.loc[changed, "upah"] = np.where(
        employee[changed] & (rng.random(changed.sum()) < 0.7), np.round(wage[changed], -3), np.nan
    )
