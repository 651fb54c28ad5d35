"""One chunk of the synthetic population: families, members, and how each source sees them.

A chunk is the unit of parallel, deterministic generation: it has its own RNG stream
``default_rng([seed, chunk_id])`` and a fixed number of persons, so the same seed gives
the same population however Spark schedules the chunks. The output is one wide row per
true person carrying the truth (Dukcapil identity, welfare), the family's welfare
variables, and per registry (``r`` Regsosek, ``p`` P3KE, ``d`` DTKS) whether and how the
person appears there: source keys, the name, birth date and address as written, which
NIK and KK error applies. NIK and KK serials are assigned later across chunks
(``delivery.synthetic.identifiers``), so NIK dirt is recorded here as a code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from delivery.synthetic import names as nm
from delivery.synthetic.welfare import (
    REGISTER_COPY,
    expected_log_pce,
    family_variables,
    member_variables,
    register_family_copy,
    register_member_copy,
    urban_premium,
)

SOURCES = ("r", "p", "d")
COMBOS = ("RPD", "RP", "RD", "PD", "R", "P", "D", "none")
VINTAGE = {"r": date(2022, 10, 15), "p": date(2021, 6, 30), "d": date(2024, 11, 14)}
NIK_DIRT = (
    "clean",
    "nik_missing",
    "nik_wrong_length",
    "nik_letters",
    "nik_bad_prefix",
    "nik_impossible_date",
    "nik_digit_typo",
    "nik_shared_in_family",
    "nik_old_ganda",
)
KK_KIND = {"missing": 0, "main": 1, "old": 2, "split": 3}
BAD_ROW = {"none": 0, "column_count": 1, "text_in_number": 2, "code_out_of_range": 3}
PERSONS_PER_CHUNK_ID = 1_000_000
SUSENAS_CHUNK_OFFSET = 90_000

_SIZE_P = np.array([0.16, 0.24, 0.24, 0.19, 0.10, 0.04, 0.017, 0.008, 0.003, 0.002])
_STREETS = [
    "MERDEKA",
    "SUDIRMAN",
    "DIPONEGORO",
    "GATOT SUBROTO",
    "AHMAD YANI",
    "PAHLAWAN",
    "MELATI",
    "MAWAR",
    "KENANGA",
    "ANGGREK",
    "CEMPAKA",
    "FLAMBOYAN",
    "KARTINI",
    "IMAM BONJOL",
    "HASANUDDIN",
    "PEMUDA",
    "SILIWANGI",
    "GAJAH MADA",
    "HAYAM WURUK",
    "VETERAN",
    "NUSANTARA",
    "GARUDA",
    "KAMBOJA",
    "SEROJA",
    "PERINTIS",
    "KESEHATAN",
    "PENDIDIKAN",
]
_DUSUN = [
    "KRAJAN",
    "SUKAMAJU",
    "SUKAJADI",
    "MEKARSARI",
    "SIDOREJO",
    "KARANGANYAR",
    "TEGALSARI",
    "SUMBERSARI",
    "MARGAMULYA",
    "JATIMULYO",
    "SIDOMULYO",
    "WONOREJO",
    "PURWOREJO",
    "BANJARSARI",
    "CIMANGGU",
    "TANJUNGSARI",
]
_ROMAN = ["", "", "", " II", " III", " IV", " IX"]
_STREET_FORMS = {"JL.": ["JL.", "JLN.", "JALAN", "JL"], "GG.": ["GG.", "GANG", "GG"]}
_DUSUN_FORMS = ["DSN.", "DUSUN", "DSN"]
_PLACES_OF_BIRTH = ["JAKARTA", "BANDUNG", "SURABAYA", "MEDAN", "SEMARANG", "MAKASSAR", "PALEMBANG"]


@dataclass(frozen=True)
class ChunkContext:
    """Everything a worker needs to generate any chunk (small, pickled into the closure)."""

    seed: int
    reference_date: date
    log_pce_sd: float
    w_center: float
    prov_codes: np.ndarray
    prov_names: np.ndarray
    prov_mu: np.ndarray
    prov_share: np.ndarray
    desa_codes: np.ndarray
    desa_kab_effect: np.ndarray
    desa_urban: np.ndarray
    desa_cum: np.ndarray
    prov_start: np.ndarray
    prov_stop: np.ndarray
    coverage: tuple[float, ...]
    dirt: dict[str, float]
    susenas_weight: float
    welfare_noise: float = 0.42
    """Sd of log per-capita expenditure around its expectation given the true variables."""


def splitmix_hex(values: np.ndarray, salt: int, width: int = 12) -> np.ndarray:
    """Opaque, collision-resistant keys: SplitMix64 of (value, salt) as upper-case hex."""
    with np.errstate(over="ignore"):
        z = values.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(salt)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return np.array([f"{int(v):016X}"[:width] for v in z], dtype=object)


def _family_sizes(rng: np.random.Generator, persons: int) -> np.ndarray:
    sizes = rng.choice(np.arange(1, 11), size=int(persons / 2.5) + 16, p=_SIZE_P / _SIZE_P.sum())
    while sizes.sum() < persons:
        sizes = np.concatenate([sizes, rng.choice(np.arange(1, 11), 64, p=_SIZE_P / _SIZE_P.sum())])
    cum = np.cumsum(sizes)
    last = int(np.searchsorted(cum, persons))
    sizes = sizes[: last + 1].copy()
    sizes[-1] -= cum[last] - persons
    return sizes


def _roles(rng: np.random.Generator, sizes: np.ndarray) -> tuple[np.ndarray, ...]:
    """Relationship code, position in family and spouse presence for every member."""
    n_fam = len(sizes)
    has_spouse = (sizes >= 2) & (rng.random(n_fam) < 0.86)
    fam_of = np.repeat(np.arange(n_fam), sizes)
    starts = np.cumsum(sizes) - sizes
    position = np.arange(sizes.sum()) - starts[fam_of]
    head_age = np.where(
        has_spouse,
        np.clip(rng.normal(44, 12, n_fam), 20, 85),
        np.clip(rng.choice([rng.normal(30, 8), rng.normal(65, 10)], n_fam), 18, 95),
    )
    u = rng.random(len(fam_of))
    other_rel = np.select(
        [
            (u < 0.05) & (head_age[fam_of] < 50),
            (u < 0.10) & (head_age[fam_of] >= 50),
            u < 0.13,
            u < 0.16,
            u < 0.17,
        ],
        [6, 5, 4, 7, 8],
        default=3,
    )
    hub = np.where(position == 0, 1, np.where((position == 1) & has_spouse[fam_of], 2, other_rel))
    return fam_of, position, hub, has_spouse, head_age


def _ages(
    rng: np.random.Generator, fam_of: np.ndarray, hub: np.ndarray, head_age: np.ndarray
) -> np.ndarray:
    n = len(fam_of)
    h = head_age[fam_of]
    age = np.select(
        [hub == 1, hub == 2, hub == 3, hub == 4, hub == 5, hub == 6],
        [
            h,
            h - rng.normal(3, 4, n),
            np.maximum(h - 19, 0.5) * rng.random(n) ** 0.8,
            h - rng.uniform(18, 30, n),
            h - rng.uniform(40, 58, n),
            h + rng.uniform(20, 35, n),
        ],
        default=rng.uniform(0, 80, n),
    )
    age = np.where(hub == 2, np.maximum(age, 17), age)
    return np.clip(age, 0, 100)


def _child_order(fam_of: np.ndarray, hub: np.ndarray, age: np.ndarray) -> np.ndarray:
    frame = pd.DataFrame({"f": fam_of, "child": hub == 3, "age": -age})
    order = frame[frame.child].groupby("f")["age"].rank(method="first")
    out = np.ones(len(fam_of), dtype=np.int32)
    out[order.index.to_numpy()] = order.to_numpy().astype(np.int32)
    return out


def _date_strings(dates: pd.Series, fmt: str) -> np.ndarray:
    return dates.dt.strftime(fmt).to_numpy(dtype=object)


def written_birth_dates(
    rng: np.random.Generator, born: pd.Series, fmt: str, dirt: dict[str, float]
) -> np.ndarray:
    """Birth dates as a source writes them: default dates, year only, swaps and typos."""
    n = len(born)
    out = _date_strings(born, fmt)
    u = rng.random(n)
    cut = np.cumsum(
        [
            dirt["birth_default_date"],
            dirt["birth_year_only"],
            dirt["birth_day_month_swap"],
            dirt["birth_typo"],
        ]
    )
    year = born.dt.year.to_numpy()
    default = pd.to_datetime(
        pd.DataFrame({"year": year, "month": np.where(rng.random(n) < 0.7, 1, 12), "day": 1})
    )
    default = default + pd.to_timedelta(np.where(default.dt.month == 12, 30, 0), unit="D")
    day, month = born.dt.day.to_numpy(), born.dt.month.to_numpy()
    swappable = day <= 12
    swapped = pd.to_datetime(
        pd.DataFrame(
            {
                "year": year,
                "month": np.where(swappable, day, month),
                "day": np.where(swappable, month, day),
            }
        )
    )
    typo = born + pd.to_timedelta(rng.choice([-365, -1, 1, 10, 365], n), unit="D")
    out = np.where(u < cut[0], _date_strings(default, fmt), out)
    out = np.where((u >= cut[0]) & (u < cut[1]), year.astype(str), out)
    out = np.where((u >= cut[1]) & (u < cut[2]), _date_strings(swapped, fmt), out)
    out = np.where((u >= cut[2]) & (u < cut[3]), _date_strings(typo, fmt), out)
    return out


def street_address(rng: np.random.Generator, urban: np.ndarray) -> tuple[np.ndarray, ...]:
    """Canonical address text (without RT/RW), its kind, and RT/RW numbers."""
    n = len(urban)
    kind = np.where(
        urban | (rng.random(n) < 0.35), np.where(rng.random(n) < 0.7, "JL.", "GG."), "DSN."
    )
    name = np.where(
        kind == "DSN.",
        rng.choice(_DUSUN, n),
        np.char.add(rng.choice(_STREETS, n).astype(str), rng.choice(_ROMAN, n).astype(str)),
    )
    number = rng.integers(1, 150, n)
    rt = rng.integers(1, 16, n)
    rw = rng.integers(1, 11, n)
    return kind, name.astype(object), number, rt, rw


def write_address(
    rng: np.random.Generator,
    kind: np.ndarray,
    name: np.ndarray,
    number: np.ndarray,
    rt: np.ndarray,
    rw: np.ndarray,
    rt_rw_rate: float,
) -> np.ndarray:
    """Address text as one source writes it: its own abbreviations, RT/RW sometimes inside."""
    out = []
    for k, nam, no, t, w in zip(kind, name, number, rt, rw, strict=True):
        if k == "DSN.":
            text = f"{_DUSUN_FORMS[int(rng.integers(3))]} {nam}"
        else:
            forms = _STREET_FORMS[k]
            text = f"{forms[int(rng.integers(len(forms)))]} {nam} NO. {no}"
        if rng.random() < rt_rw_rate:
            style = int(rng.integers(4))
            text += (
                f" RT {t:03d} RW {w:03d}",
                f" RT {t:02d}/RW {w:02d}",
                f" {t:03d}/{w:03d}",
                f" RT.{t} RW.{w}",
            )[style]
        out.append(text)
    return np.array(out, dtype=object)


def generate_chunk(
    chunk_id: int, persons: int, ctx: ChunkContext, book: nm.NameBook
) -> pd.DataFrame:
    """Generate one chunk: ``persons`` true persons in whole families (the last one trimmed)."""
    rng = np.random.default_rng([ctx.seed, chunk_id])
    susenas = chunk_id >= SUSENAS_CHUNK_OFFSET
    sizes = _family_sizes(rng, persons)
    n_fam = len(sizes)
    fam_of, position, hub, has_spouse, head_age = _roles(rng, sizes)
    n = len(fam_of)

    # Where each family lives, and its economic position (which the variables follow).
    # Susenas oversamples small provinces (selection ~ share^0.5): its weights undo that.
    tilt = ctx.prov_share**0.5 / np.sum(ctx.prov_share**0.5)
    prov = rng.choice(len(ctx.prov_codes), n_fam, p=tilt if susenas else ctx.prov_share)
    desa = random_desa(rng, ctx, prov)
    urban = ctx.desa_urban[desa]
    position0 = (
        ctx.prov_mu[prov]
        + ctx.desa_kab_effect[desa]
        - 0.07 * (sizes - 3)
        + rng.normal(0, ctx.log_pce_sd, n_fam)
    )
    w0 = (position0 - ctx.w_center) / ctx.log_pce_sd
    fam = family_variables(rng, w0, sizes, urban)

    # Members: sex, age, birth date, names.
    age = _ages(rng, fam_of, hub, head_age)
    head_male = np.where(has_spouse, rng.random(n_fam) < 0.93, rng.random(n_fam) < 0.45)
    male = np.select(
        [hub == 1, hub == 2], [head_male[fam_of], ~head_male[fam_of]], default=rng.random(n) < 0.5
    )
    ref = pd.Timestamp(ctx.reference_date)
    born = (
        ref - pd.to_timedelta(np.floor(age * 365.25 + rng.uniform(0, 365, n)), unit="D")
    ).normalize()
    born = pd.Series(born)
    members = member_variables(rng, w0[fam_of], age, male, urban[fam_of])
    # Welfare: nonlinear in the true variables, plus noise (docs/data.md, Welfare model).
    level = ctx.prov_mu[prov] + urban_premium(ctx.seed, len(ctx.prov_codes))[prov] * urban
    oracle = expected_log_pce(level, urban, fam, members, fam_of, age, hub == 1)
    ln_pce = oracle + rng.normal(0, ctx.welfare_noise, n_fam)
    w = (ln_pce - ctx.w_center) / ctx.log_pce_sd
    marital = np.select(
        [
            (hub == 1) & has_spouse[fam_of],
            hub == 1,
            hub == 2,
            (hub == 3) & (age >= 25),
            hub == 4,
            hub == 6,
        ],
        [
            2,
            rng.choice([4, 3, 1], n, p=[0.6, 0.25, 0.15]),
            2,
            rng.choice([1, 2], n, p=[0.6, 0.4]),
            2,
            4,
        ],
        default=np.where(age >= 30, 2, 1),
    )
    child_order = _child_order(fam_of, hub, age)

    global_fam = chunk_id * PERSONS_PER_CHUNK_ID + np.arange(n_fam)
    global_person = chunk_id * PERSONS_PER_CHUNK_ID + np.arange(n)
    frame = pd.DataFrame(
        {
            "person_key": global_person.astype(np.int64),
            "person_id": [f"P{v:011d}" for v in global_person],
            "family_id": [f"F{v:011d}" for v in global_fam[fam_of]],
            "is_susenas": susenas,
            "position": position.astype(np.int32),
            "family_size": sizes[fam_of].astype(np.int32),
            "kode_wilayah": ctx.desa_codes[desa][fam_of],
            "urban": urban[fam_of],
            "ln_pce": ln_pce[fam_of],
            "ln_pce_oracle": oracle[fam_of],
            "design_weight": (ctx.prov_share / tilt)[prov][fam_of] if susenas else 1.0,
            "w": w[fam_of],
            "jenis_kelamin": np.where(male, 1, 2).astype(np.int32),
            "tanggal_lahir": born.dt.date.to_numpy(),
            "age": age.astype(np.int32),
            "hubungan_kk": hub.astype(np.int32),
            "status_kawin": marital.astype(np.int32),
        }
    )
    for name in fam.columns:
        values = fam[name].to_numpy()[fam_of]
        frame[name] = values.astype(np.int32) if values.dtype == np.int64 else values
    for name in members.columns:
        frame[name] = members[name].to_numpy()
    if susenas:
        return _susenas_frame(rng, frame, ctx)
    copies = _register_copies(rng, fam, members, w0, sizes, urban, fam_of, age, male)
    frame = pd.concat([frame, copies], axis=1)

    groups = nm.family_groups(rng, ctx.prov_codes[prov])
    family_names = np.array([nm.family_name_for(rng, book, g) for g in groups], dtype=object)
    spouse_names = np.array([nm.family_name_for(rng, book, g) for g in groups], dtype=object)
    frame["nama"] = [
        nm.person_name(
            rng,
            book,
            groups[f],
            bool(m),
            int(o),
            spouse_names[f] if (h == 2) else family_names[f],
        )
        for f, m, o, h in zip(fam_of, male, child_order, hub, strict=True)
    ]
    frame["tempat_lahir"] = np.where(
        rng.random(n) < 0.8,
        ctx.prov_names[prov][fam_of],
        rng.choice(_PLACES_OF_BIRTH, n),
    )
    _add_identity(rng, frame, ctx, fam_of, n_fam)
    _add_addresses(rng, frame, ctx, fam_of, urban, prov, ctx.desa_codes[desa])
    _add_sources(rng, frame, ctx, book, fam_of, n_fam)
    _add_programs_and_admin(rng, frame, fam_of, n_fam)
    return frame


def _desa_offsets(rng: np.random.Generator, ctx: ChunkContext, prov: np.ndarray) -> np.ndarray:
    """Index of each family's desa within its province, drawn by the desa weights."""
    u = rng.random(len(prov))
    out = np.empty(len(prov), dtype=np.int64)
    for p in np.unique(prov):
        idx = np.flatnonzero(prov == p)
        cum = ctx.desa_cum[ctx.prov_start[p] : ctx.prov_stop[p]]
        out[idx] = np.searchsorted(cum, u[idx], side="right")
    return out


def random_desa(rng: np.random.Generator, ctx: ChunkContext, prov: np.ndarray) -> np.ndarray:
    offsets = _desa_offsets(rng, ctx, prov)
    return ctx.prov_start[prov] + np.minimum(
        offsets, ctx.prov_stop[prov] - ctx.prov_start[prov] - 1
    )


def _add_identity(
    rng: np.random.Generator, frame: pd.DataFrame, ctx: ChunkContext, fam_of: np.ndarray, n_fam: int
) -> None:
    """Dukcapil identity: NIK parts, status, KK parts. Serials come later, across chunks."""
    n = len(frame)
    d = ctx.dirt
    prov_of = pd.Index(ctx.prov_codes).get_indexer(frame["kode_wilayah"].str[:2])
    elsewhere = rng.random(n) < 0.12
    other_desa = ctx.desa_codes[random_desa(rng, ctx, prov_of)]
    frame["nik_prefix"] = np.where(elsewhere, other_desa, frame["kode_wilayah"].to_numpy())
    frame["nik_prefix"] = frame["nik_prefix"].str[:6]
    born = pd.to_datetime(frame["tanggal_lahir"])
    # Dukcapil corrected some birth dates after the NIK was issued: the NIK keeps the old one.
    corrected = rng.random(n) < d["dukcapil_date_disagrees_nik"]
    shift = pd.to_timedelta(rng.choice([-400, -31, -2, 3, 60, 365], n), unit="D")
    nik_date = born.where(~corrected, born + shift)
    # A few NIKs were issued with the wrong sex: the +40 on the day does not match.
    nik_female = (frame["jenis_kelamin"].to_numpy() == 2) ^ (
        rng.random(n) < d["dukcapil_sex_disagrees_nik"]
    )
    frame["nik_date"] = [
        f"{int(s[:2]) + (40 if female else 0):02d}{s[2:]}"
        for s, female in zip(nik_date.dt.strftime("%d%m%y"), nik_female, strict=True)
    ]
    # Some people hold a NIK but their Dukcapil record is missing from the extract.
    frame["in_dukcapil"] = rng.random(n) >= d["dukcapil_unregistered"]
    frame["has_ganda"] = rng.random(n) < d["dukcapil_ganda"]
    frame["ganda_prefix"] = ctx.desa_codes[random_desa(rng, ctx, prov_of)]
    frame["ganda_prefix"] = frame["ganda_prefix"].str[:6]
    u = rng.random(n)
    old = frame["age"].to_numpy() >= 60
    dead = u < d["deceased"] * np.where(old, 4.0, 0.4)
    frame["status"] = np.where(
        dead, "MENINGGAL", np.where(u > 1 - d["pindah_ln"], "PINDAH_LN", "AKTIF")
    )
    kk_issue = pd.Timestamp("2008-01-01") + pd.to_timedelta(rng.integers(0, 6000, n_fam), unit="D")
    kk_old = kk_issue - pd.to_timedelta(rng.integers(400, 3000, n_fam), unit="D")
    kk_split = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 1400, n_fam), unit="D")
    frame["kk_prefix"] = frame["kode_wilayah"].str[:6]
    for col, dates in (("kk_date", kk_issue), ("kk_old_date", kk_old), ("kk_split_date", kk_split)):
        frame[col] = pd.Series(dates).dt.strftime("%d%m%y").to_numpy()[fam_of]


def _add_addresses(
    rng: np.random.Generator,
    frame: pd.DataFrame,
    ctx: ChunkContext,
    fam_of: np.ndarray,
    urban: np.ndarray,
    prov: np.ndarray,
    fam_desa: np.ndarray,
) -> None:
    """Dukcapil's address plus each registry's written address and region code."""
    kind, name, number, rt, rw = street_address(rng, urban)
    frame["alamat"] = write_address(rng, kind, name, number, rt, rw, 0.0)[fam_of]
    frame["rt"] = rt[fam_of].astype(np.int32)
    frame["rw"] = rw[fam_of].astype(np.int32)
    rate = ctx.dirt["address_rt_rw_in_text"]
    for s in SOURCES:
        text = write_address(rng, kind, name, number, rt, rw, rate if s != "r" else 0.05)
        region = fam_desa
        if s != "r":
            # Older registries may hold a previous address in another desa of the province.
            moved = rng.random(len(kind)) < ctx.dirt["region_moved"]
            k2, n2, no2, rt2, rw2 = street_address(rng, urban)
            old_text = write_address(rng, k2, n2, no2, rt2, rw2, rate)
            text = np.where(moved, old_text, text)
            region = np.where(moved, ctx.desa_codes[random_desa(rng, ctx, prov)], fam_desa)
        frame[f"alamat_{s}"] = text[fam_of]
        frame[f"kode_wilayah_{s}"] = region[fam_of]


def _add_sources(
    rng: np.random.Generator,
    frame: pd.DataFrame,
    ctx: ChunkContext,
    book: nm.NameBook,
    fam_of: np.ndarray,
    n_fam: int,
) -> None:
    """How each registry holds each person: presence, keys, written values, error codes."""
    d = ctx.dirt
    n = len(frame)
    combo = rng.choice(len(COMBOS), n_fam, p=np.asarray(ctx.coverage) / np.sum(ctx.coverage))
    combo_name = np.asarray(COMBOS)[combo]
    frame["coverage"] = combo_name[fam_of]
    born = pd.to_datetime(frame["tanggal_lahir"])
    head = frame["position"].to_numpy() == 0
    person_key = frame["person_key"].to_numpy()
    family_key = frame["family_id"].str[1:].astype(np.int64).to_numpy()
    male = frame["jenis_kelamin"].to_numpy() == 1
    size = frame["family_size"].to_numpy()
    position = frame["position"].to_numpy()
    formats = {"r": "%Y-%m-%d", "p": "%d/%m/%Y", "d": "%d-%m-%Y"}
    for i, s in enumerate(SOURCES):
        letter = s.upper()
        fam_in = np.array([letter in c for c in combo_name])
        # Split: in this source the younger half of a large family is on a second KK,
        # headed by its first member.
        split = (rng.random(n_fam) < d["family_split"])[fam_of] & (size >= 4)
        split_member = split & (position >= np.ceil(size / 2))
        first_split = split_member & (position == np.ceil(size / 2))
        present = fam_in[fam_of] & (born < pd.Timestamp(VINTAGE[s])).to_numpy()
        present &= head | first_split | (rng.random(n) >= 0.02)
        frame[f"in_{s}"] = present
        fam_ids = np.where(split_member, family_key * 2 + 1, family_key * 2)
        hub = np.where(first_split, 1, frame["hubungan_kk"].to_numpy())
        kk_kind = np.where(split_member, KK_KIND["split"], KK_KIND["main"])
        stale = (rng.random(n_fam) < d["kk_stale"] * (0.5 if s == "r" else 1.0))[fam_of]
        kk_kind = np.where(stale & ~split_member, KK_KIND["old"], kk_kind)
        kk_kind = np.where(
            (rng.random(n_fam) < d["kk_missing"])[fam_of], KK_KIND["missing"], kk_kind
        )
        if s != "r":
            # Older registries list some people in the family they have since left.
            moved = present & ~head & (rng.random(n) < d["member_moved"])
            donors = np.flatnonzero(present & head)
            if len(donors) and moved.any():
                target = donors[rng.integers(0, len(donors), moved.sum())]
                fam_ids[moved] = fam_ids[target]
                kk_kind[moved] = kk_kind[target]
                hub[moved] = rng.choice([3, 7, 8], moved.sum())
        frame[f"fam_{s}"] = splitmix_hex(fam_ids, 1000 + i * 7919 + ctx.seed, 14)
        frame[f"id_{s}"] = splitmix_hex(person_key, 2000 + i * 7919 + ctx.seed, 14)
        frame[f"hub_{s}"] = hub.astype(np.int32)
        frame[f"kk_kind_{s}"] = kk_kind.astype(np.int32)
        frame[f"nama_{s}"] = [
            nm.write_name(rng, book, name, d, bool(m)) if p else None
            for name, m, p in zip(frame["nama"], male, present, strict=True)
        ]
        frame[f"tgl_{s}"] = written_birth_dates(rng, born, formats[s], d)
        code, nik_u = nik_dirt(rng, d, frame["has_ganda"].to_numpy(), size)
        frame[f"nik_dirt_{s}"] = code
        frame[f"nik_u_{s}"] = nik_u
        # A shared NIK is another member's: the head's, or for the head the next member's.
        frame[f"nik_donor_{s}"] = np.where(
            code == 7, person_key - position + np.where(position == 0, 1, 0), -1
        ).astype(np.int64)
        frame[f"dup_{s}"], frame[f"bad_{s}"] = row_dirt(rng, d, n)
    # Representative row of each source family: its head in that source (moved-in
    # members are never recorded as heads, so the row carries the family's own values).
    for s in SOURCES:
        frame[f"rep_{s}"] = frame[f"in_{s}"] & (frame[f"hub_{s}"] == 1)


def nik_dirt(
    rng: np.random.Generator, dirt: dict[str, float], has_ganda: np.ndarray, size: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """How a source writes each person's NIK: a :data:`NIK_DIRT` code and a uniform draw.

    The uniform picks the variant of the error (which digit slips, which letter) when
    :func:`delivery.synthetic.assemble.written_nik` writes it. An old (GANDA) NIK needs
    one to exist, a family member's NIK needs a family of two or more.
    """
    n = len(has_ganda)
    rates = np.array([dirt[k] for k in NIK_DIRT[1:]])
    u = rng.random(n)
    code = np.searchsorted(np.cumsum(rates), u, side="right") + 1
    code = np.where(u >= rates.sum(), 0, code)
    code = np.where((code == 8) & ~has_ganda, 0, code)
    code = np.where((code == 7) & (size < 2), 0, code)
    return code.astype(np.int32), rng.random(n)


def row_dirt(
    rng: np.random.Generator, dirt: dict[str, float], n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Which of ``n`` lines are written twice, and which are malformed (:data:`BAD_ROW`)."""
    dup = rng.random(n) < dirt["duplicate_row"]
    bad_u = rng.random(n)
    bad_cut = np.cumsum(
        [
            dirt["malformed_column_count"],
            dirt["malformed_text_in_number"],
            dirt["malformed_code_out_of_range"],
        ]
    )
    bad = np.where(bad_u < bad_cut[-1], np.searchsorted(bad_cut, bad_u, side="right") + 1, 0)
    return dup, bad.astype(np.int32)


def _add_programs_and_admin(
    rng: np.random.Generator, frame: pd.DataFrame, fam_of: np.ndarray, n_fam: int
) -> None:
    """Current programme receipt (noisy targeting) and administrative records."""
    from statistics import NormalDist

    n = len(frame)
    w_fam = frame.groupby("family_id", sort=False)["w"].first().to_numpy()
    noisy = w_fam + rng.normal(0, 0.7, n_fam)
    pct = np.array([NormalDist(0, np.sqrt(1 + 0.49)).cdf(x) for x in noisy])
    in_d = frame["coverage"].str.contains("D").to_numpy()
    frame["pkh"] = ((pct < 0.13)[fam_of] & in_d).astype(np.int32)
    frame["sembako"] = ((pct < 0.22)[fam_of] & in_d).astype(np.int32)
    frame["pbi"] = ((pct < 0.36)[fam_of] & (rng.random(n) < 0.95)).astype(np.int32)
    frame["groundcheck"] = (rng.random(n_fam) < 0.3)[fam_of].astype(np.int32)
    desil_noise = w_fam + rng.normal(0, 0.45, n_fam)
    desil = np.ceil(
        np.array([NormalDist(0, np.sqrt(1 + 0.2)).cdf(x) for x in desil_noise]) * 10
    ).clip(1, 10)
    frame["desil_p3ke"] = desil[fam_of].astype(np.int32)
    status = frame["status_pekerjaan"].to_numpy()
    age = frame["age"].to_numpy()
    retired = (age >= 58) & (frame["w"].to_numpy() > 0.3) & (rng.random(n) < 0.12)
    frame["bkn_status"] = np.where(status == 5, "AKTIF", np.where(retired, "PENSIUN", None))
    frame["bkn_kategori"] = np.where(
        frame["bkn_status"].notna(),
        rng.choice(
            ["ASN", "TNI", "POLRI", "BUMN", "BUMD", "PEJABAT"],
            n,
            p=[0.62, 0.1, 0.1, 0.11, 0.05, 0.02],
        ),
        None,
    )
    employee = np.isin(status, [4, 5])
    wage = (
        np.exp(frame["ln_pce"].to_numpy())
        * frame["family_size"].to_numpy()
        * rng.uniform(0.5, 1.1, n)
    )
    frame["upah"] = np.where(employee & (rng.random(n) < 0.7), np.round(wage, -3), np.nan)
    frame["negatif"] = (age >= 18) & (rng.random(n) < 0.002)
    frame["id_pln"] = np.where(
        frame["penerangan"].to_numpy() == 1,
        splitmix_hex(frame["family_id"].str[1:].astype(np.int64).to_numpy(), 4242, 12),
        None,
    )
    frame["tahun_kendaraan"] = rng.integers(2000, 2025, n).astype(np.int32)


def _register_copies(
    rng: np.random.Generator,
    fam: pd.DataFrame,
    members: pd.DataFrame,
    w0: np.ndarray,
    sizes: np.ndarray,
    urban: np.ndarray,
    fam_of: np.ndarray,
    age: np.ndarray,
    male: np.ndarray,
) -> pd.DataFrame:
    """``r_<variable>`` (Regsosek) and ``p_<variable>`` (P3KE): the older, noisier copies.

    At a registry's vintage a family's position differed from today's (``w0`` plus noise
    of sd 0.6); a share of its variables still show that older situation.
    """
    out: dict[str, np.ndarray] = {}
    for s, copy in REGISTER_COPY.items():
        w_then = w0 + rng.normal(0, 0.6, len(w0))
        held = register_family_copy(rng, fam, w_then, sizes, urban, copy)
        then = member_variables(rng, w_then[fam_of], age, male, urban[fam_of])
        held_members = register_member_copy(rng, members, then, copy[0])
        for name in held.columns:
            values = held[name].to_numpy()[fam_of]
            out[f"{s}_{name}"] = values.astype(np.int32) if values.dtype == np.int64 else values
        for name in held_members.columns:
            out[f"{s}_{name}"] = held_members[name].to_numpy().astype(np.int32)
    return pd.DataFrame(out)


def _susenas_frame(
    rng: np.random.Generator, frame: pd.DataFrame, ctx: ChunkContext
) -> pd.DataFrame:
    """Susenas households: observed expenditure with measurement error, and a survey weight."""
    fam_first = frame.groupby("family_id", sort=False).head(1).index.to_numpy()
    observed = np.exp(frame["ln_pce"].to_numpy() + rng.normal(0, 0.12, len(frame)))
    frame["pengeluaran_kapita"] = np.round(observed, -2)
    frame["bobot"] = ctx.susenas_weight * frame["design_weight"] * rng.uniform(0.8, 1.2, len(frame))
    frame["id_ruta"] = splitmix_hex(frame["family_id"].str[1:].astype(np.int64).to_numpy(), 777, 12)
    rep = np.zeros(len(frame), dtype=bool)
    rep[fam_first] = True
    frame["rep_s"] = rep
    return frame
