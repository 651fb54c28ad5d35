"""Welfare variables, the expenditure they imply, and the registries' copies of them.

Each housing, asset and member variable is drawn from an ordered latent index
``w0 + noise`` (``w0``: a family's standardised economic position, from its region and
luck) whose marginal distribution matches the configured shares, so variables are
correlated with each other the way real ones are. The true log monthly per-capita
expenditure (``ln_pce``) is then a nonlinear function of the true variables plus noise
(:func:`expected_log_pce`, documented in ``docs/data.md``), so the Bayes-optimal
prediction from the variables is known exactly. Registries hold older and noisier
copies (:func:`register_family_copy`); the Susenas sample observes the truth.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd

_PHI = np.vectorize(NormalDist().cdf)

# Ordered categorical variables: codes from poorest to richest, shares in that order,
# and the noise of the latent index (larger = weaker link to welfare).
ORDERED: dict[str, tuple[list[int], list[float], float]] = {
    "lantai": ([8, 7, 5, 6, 4, 2, 3, 1], [0.05, 0.02, 0.08, 0.27, 0.10, 0.42, 0.03, 0.03], 0.9),
    "dinding": ([6, 4, 5, 7, 3, 2, 1], [0.03, 0.04, 0.01, 0.01, 0.13, 0.05, 0.73], 0.9),
    "atap": ([7, 5, 6, 8, 4, 3, 2, 1], [0.03, 0.01, 0.02, 0.01, 0.12, 0.38, 0.38, 0.05], 1.2),
    "air_minum": (
        [9, 8, 6, 10, 11, 7, 5, 4, 3, 2, 1],
        [0.03, 0.03, 0.05, 0.02, 0.01, 0.08, 0.15, 0.18, 0.08, 0.31, 0.06],
        1.0,
    ),
    "penerangan": ([4, 3, 2, 1], [0.01, 0.02, 0.06, 0.91], 1.0),
    "bahan_bakar": (
        [10, 9, 7, 8, 11, 0, 4, 6, 2, 3, 5, 1],
        [0.15, 0.01, 0.01, 0.005, 0.005, 0.02, 0.65, 0.005, 0.06, 0.04, 0.01, 0.04],
        0.8,
    ),
    "fasilitas_bab": ([6, 5, 4, 3, 2, 1], [0.05, 0.01, 0.02, 0.04, 0.08, 0.80], 0.9),
    "kloset": ([4, 3, 2, 1], [0.06, 0.04, 0.03, 0.87], 0.9),
    "pembuangan_tinja": ([5, 3, 4, 6, 2, 1], [0.04, 0.08, 0.12, 0.01, 0.02, 0.73], 0.9),
    "daya_listrik": ([1, 2, 3, 4, 5], [0.30, 0.40, 0.20, 0.07, 0.03], 0.6),
    "pendidikan": ([1, 2, 3, 4, 5, 6, 7], [0.08, 0.28, 0.22, 0.29, 0.04, 0.08, 0.01], 1.0),
    "status_pekerjaan": (
        [8, 6, 7, 1, 2, 4, 5, 3],
        [0.12, 0.08, 0.10, 0.28, 0.12, 0.23, 0.05, 0.02],
        1.1,
    ),
}

# Asset flags: prevalence and latent noise.
ASSETS: dict[str, tuple[float, float]] = {
    "aset_gas_5kg": (0.25, 1.0),
    "aset_kulkas": (0.55, 0.8),
    "aset_ac": (0.10, 0.6),
    "aset_pemanas_air": (0.07, 0.6),
    "aset_telepon_rumah": (0.03, 0.8),
    "aset_tv_datar": (0.45, 0.8),
    "aset_emas_10g": (0.20, 0.9),
    "aset_komputer": (0.18, 0.7),
    "aset_sepeda": (0.30, 1.5),
    "aset_sepeda_motor": (0.80, 0.9),
    "aset_mobil": (0.11, 0.6),
    "aset_perahu": (0.03, 2.0),
    "aset_perahu_motor": (0.02, 2.0),
    "aset_smartphone": (0.85, 0.9),
    "aset_lahan_lain": (0.25, 1.3),
    "aset_rumah_lain": (0.07, 0.8),
}

# Livestock: probability of keeping any, mean count when kept (rural families).
LIVESTOCK: dict[str, tuple[float, float]] = {
    "ternak_sapi": (0.08, 2.0),
    "ternak_kerbau": (0.02, 1.5),
    "ternak_kuda": (0.01, 1.2),
    "ternak_babi": (0.03, 2.5),
    "ternak_kambing": (0.10, 3.0),
}

LAPANGAN_POOR = [1, 1, 1, 5, 6, 7, 3, 16]
LAPANGAN_RICH = [6, 3, 13, 14, 15, 10, 9, 12, 11, 4, 8, 2]


def ordered_draw(
    rng: np.random.Generator, w: np.ndarray, codes: list[int], shares: list[float], noise: float
) -> np.ndarray:
    """Codes drawn with the given marginal shares, ordered by ``w + noise`` (w standardised)."""
    latent = (w + rng.normal(0.0, noise, len(w))) / np.sqrt(1.0 + noise**2)
    u = _PHI(latent) if len(w) else np.empty(0)
    cum = np.cumsum(shares) / np.sum(shares)
    index = np.minimum(np.searchsorted(cum, u, side="right"), len(codes) - 1)
    return np.asarray(codes)[index]


def flag_draw(
    rng: np.random.Generator, w: np.ndarray, prevalence: float, noise: float
) -> np.ndarray:
    latent = (w + rng.normal(0.0, noise, len(w))) / np.sqrt(1.0 + noise**2)
    return (_PHI(latent) > 1.0 - prevalence).astype(np.int32) if len(w) else np.empty(0, np.int32)


def family_variables(
    rng: np.random.Generator, w: np.ndarray, size: np.ndarray, urban: np.ndarray
) -> pd.DataFrame:
    """The Regsosek family variables for families with standardised welfare ``w``."""
    n = len(w)
    out: dict[str, np.ndarray] = {}
    out["jumlah_keluarga_dalam_rumah"] = rng.choice([1, 2, 3], n, p=[0.86, 0.11, 0.03])
    out["status_bangunan"] = np.where(
        urban & (rng.random(n) < 0.25),
        2,
        rng.choice([1, 2, 3, 4, 5], n, p=[0.84, 0.05, 0.08, 0.02, 0.01]),
    )
    out["luas_lantai"] = np.round(
        np.exp(3.7 + 0.35 * w + rng.normal(0, 0.35, n)) * np.sqrt(np.maximum(size, 1)) / 1.6, 1
    )
    for name, (codes, shares, noise) in ORDERED.items():
        if name in ("pendidikan", "status_pekerjaan"):
            continue
        out[name] = ordered_draw(rng, w, codes, shares, noise)
    metered = out["penerangan"] == 1
    out["daya_listrik"] = np.where(metered, out["daya_listrik"], 0)
    has_toilet = out["fasilitas_bab"] <= 4
    out["kloset"] = np.where(has_toilet, out["kloset"], 0)
    for name, (prevalence, noise) in ASSETS.items():
        out[name] = flag_draw(rng, w, prevalence, noise)
    for name, (p_any, mean) in LIVESTOCK.items():
        keeps = (rng.random(n) < p_any * np.where(urban, 0.2, 1.3)).astype(np.int32)
        out[name] = keeps * (1 + rng.poisson(mean - 1, n))
    return pd.DataFrame(out)


def member_variables(
    rng: np.random.Generator, w: np.ndarray, age: np.ndarray, male: np.ndarray, urban: np.ndarray
) -> pd.DataFrame:
    """The Regsosek member variables (education, work, business, disability, illness)."""
    n = len(w)
    codes, shares, noise = ORDERED["pendidikan"]
    adult_edu = ordered_draw(rng, w, codes, shares, noise)
    # Children's highest certificate follows their age.
    child_edu = np.select([age < 13, age < 16, age < 19], [1, 2, 3], default=adult_edu)
    pendidikan = np.where(age >= 22, adult_edu, np.minimum(child_edu, adult_edu.clip(min=1)))
    in_school = (age >= 6) & (age <= 18) & (rng.random(n) < 0.93 - 0.1 * (w < -1))
    in_school |= (age >= 19) & (age <= 23) & (rng.random(n) < 0.2 + 0.25 * (w > 0.5))
    partisipasi = np.where(in_school, 1, np.where((age < 6) | (adult_edu == 1) & (age > 40), 0, 2))
    p_work = np.select([age < 15, age < 65], [0.0, np.where(male, 0.82, 0.52)], default=0.3)
    bekerja = ((rng.random(n) < p_work) & ~in_school).astype(np.int32)
    codes, shares, noise = ORDERED["status_pekerjaan"]
    status = ordered_draw(rng, w, codes, shares, noise)
    sector = np.where(
        (w + rng.normal(0, 1, n) > 0.3) | urban,
        rng.choice(LAPANGAN_RICH, n),
        rng.choice(LAPANGAN_POOR, n),
    )
    sector = np.where(status == 5, rng.choice([13, 14, 15, 13], n), sector)
    sector = np.where(status == 6, 1, sector)
    return pd.DataFrame(
        {
            "partisipasi_sekolah": partisipasi.astype(np.int32),
            "pendidikan": np.where(age < 5, 1, pendidikan).astype(np.int32),
            "bekerja": bekerja,
            "lapangan_usaha": np.where(bekerja == 1, sector, 0).astype(np.int32),
            "status_pekerjaan": np.where(bekerja == 1, status, 0).astype(np.int32),
            "punya_usaha": ((age >= 18) & (rng.random(n) < 0.15 + 0.05 * (w > 0))).astype(np.int32),
            "disabilitas": (rng.random(n) < 0.015 + 0.05 * (age >= 65)).astype(np.int32),
            "penyakit_kronis": (rng.random(n) < 0.02 + 0.004 * np.maximum(age - 30, 0)).astype(
                np.int32
            ),
        }
    )


# --------------------------------------------------------------------------- expenditure
# The true welfare model (docs/data.md, "Welfare model"): log per-capita expenditure is a
# nonlinear function of the true variables plus noise, so E[ln_pce | variables] (the
# oracle) is known exactly and a PMT can be judged against it.

EDU_YEARS = np.array([0.0, 0.0, 6.0, 9.0, 12.0, 14.0, 16.0, 18.0])
"""Years of schooling by ``pendidikan`` code (0 = none, 1 = no certificate ... 7 = S2/S3)."""
POWER_EFFECT = np.array([0.0, 0.0, 0.07, 0.13, 0.17, 0.19])
"""By ``daya_listrik`` code (0 = no PLN meter, 1 = 450 VA ... 5 = 3,500+ VA): concave."""
ASSET_VALUE: dict[str, tuple[float, float]] = {
    "aset_kulkas": (0.8, 0.3),
    "aset_ac": (0.6, 1.2),
    "aset_pemanas_air": (0.5, 0.9),
    "aset_telepon_rumah": (0.2, 0.3),
    "aset_tv_datar": (0.6, 0.3),
    "aset_emas_10g": (0.8, 0.4),
    "aset_komputer": (0.5, 1.0),
    "aset_sepeda_motor": (0.8, 0.1),
    "aset_mobil": (1.4, 1.8),
    "aset_smartphone": (0.5, 0.1),
    "aset_lahan_lain": (0.6, 0.2),
    "aset_rumah_lain": (0.7, 0.9),
}
"""Asset weights (rural, urban) of the stock index ``a``: a motorbike or a smartphone
marks a better-off village family but nearly every town family has one. Welfare rises
as ``1 - exp(-a)`` (diminishing returns)."""
FORMAL_STATUS = (3, 4, 5)
WELFARE_CENTER = -0.80
"""Makes the mean of the household terms about zero, so provinces keep their poverty rates."""


def urban_premium(seed: int, provinces: int) -> np.ndarray:
    """Each province's urban price and wage premium on log per-capita expenditure."""
    return np.random.default_rng([seed, 7002]).uniform(0.10, 0.35, provinces)


def expected_log_pce(
    level: np.ndarray,
    urban: np.ndarray,
    fam: pd.DataFrame,
    members: pd.DataFrame,
    fam_of: np.ndarray,
    age: np.ndarray,
    is_head: np.ndarray,
) -> np.ndarray:
    """E[ln_pce | true variables]: the oracle, one value per family.

    Args:
        level: the family's regional price and income level (province mean + urban premium).
        urban: whether the family lives in a kota.
        fam: the true family variables (:func:`family_variables`).
        members: the true member variables (:func:`member_variables`), one row per person.
        fam_of: each person's family index; ``age`` and ``is_head`` per person.
    """
    n_fam = len(level)
    size = np.bincount(fam_of, minlength=n_fam).astype(float)
    children = np.bincount(fam_of, weights=(age < 15).astype(float), minlength=n_fam)
    working = members["bekerja"].to_numpy()
    formal = working * np.isin(members["status_pekerjaan"].to_numpy(), FORMAL_STATUS)
    earners = np.bincount(fam_of, weights=working.astype(float), minlength=n_fam)
    formal_n = np.bincount(fam_of, weights=formal.astype(float), minlength=n_fam)
    business = np.bincount(fam_of, weights=members["punya_usaha"].to_numpy(), minlength=n_fam)
    head_edu = np.zeros(n_fam)
    head_edu[fam_of[is_head]] = EDU_YEARS[members["pendidikan"].to_numpy()[is_head]]
    head_farm = np.zeros(n_fam, dtype=bool)
    head_farm[fam_of[is_head]] = members["lapangan_usaha"].to_numpy()[is_head] == 1
    assets = sum(
        fam[name].to_numpy() * np.where(urban, town, village)
        for name, (village, town) in ASSET_VALUE.items()
    )
    floor_pc = np.clip(fam["luas_lantai"].to_numpy() / np.maximum(size, 1), 2.0, 150.0)
    livestock = fam["ternak_sapi"] + fam["ternak_kerbau"] + fam["ternak_kuda"]
    metered = fam["penerangan"].to_numpy() == 1
    rural = ~urban
    trapped = (
        np.isin(fam["lantai"].to_numpy(), (7, 8))
        & ~metered
        & (fam["fasilitas_bab"].to_numpy() != 1)
    )
    household = (
        -0.30 * np.log(np.maximum(size, 1) / 3.0)  # economies of scale
        - 0.25 * children / np.maximum(size, 1)
        + (0.15 + 0.15 * urban) * np.log(floor_pc / 12.0)  # diminishing returns to space
        + 0.55 * (1.0 - np.exp(-assets / 1.0))  # ... and to assets
        + (0.005 + 0.040 * urban) * head_edu  # schooling pays in towns
        + 0.35 * earners / np.maximum(size, 1)
        + (0.02 + 0.12 * urban) * np.minimum(formal_n, 2)  # formal jobs: urban
        + 0.06 * (business > 0)
        + rural * (0.10 * np.log1p(livestock.to_numpy()) + 0.10 * fam["aset_lahan_lain"].to_numpy())
        - 0.10 * (head_farm & rural)
        + np.where(metered, POWER_EFFECT[fam["daya_listrik"].to_numpy()], -0.05)
        - 0.25 * trapped  # earth floor, no PLN meter, no own toilet: all three
        + 0.05 * np.isin(fam["air_minum"].to_numpy(), (1, 2))
    )
    return np.asarray(level + WELFARE_CENTER + household, dtype=float)


# --------------------------------------------------------------------------- register copies

RegisterCopy = tuple[float, float]
"""(drift, misreport): the share of variables that changed since the source's vintage,
and the share of owned assets a family does not declare."""
REGISTER_COPY: dict[str, RegisterCopy] = {"r": (0.12, 0.10), "p": (0.25, 0.10)}
"""Regsosek (Oct 2022) and P3KE (2021, older); DTKS (Nov 2024) indicators are flipped
at ``DTKS_MISREPORT`` instead."""
DTKS_MISREPORT = 0.05


def register_family_copy(
    rng: np.random.Generator,
    fam: pd.DataFrame,
    w_then: np.ndarray,
    size: np.ndarray,
    urban: np.ndarray,
    copy: RegisterCopy,
) -> pd.DataFrame:
    """The family variables as an older registry holds them.

    Each variable of a family keeps its true value, except with probability ``drift`` it
    is the value of the family's situation at the vintage (drawn from ``w_then``, the
    welfare index then); owned assets are under-declared at ``misreport``; the floor
    area is a rough estimate (log-normal error, sd 0.2).
    """
    drift, misreport = copy
    then = family_variables(rng, w_then, size, urban)
    out = fam.copy()
    for name in fam.columns:
        old = rng.random(len(fam)) < drift
        out[name] = np.where(old, then[name].to_numpy(), fam[name].to_numpy())
    for name in ASSETS:
        hidden = rng.random(len(fam)) < misreport
        out[name] = np.where(hidden, 0, out[name].to_numpy()).astype(np.int32)
    out["luas_lantai"] = np.round(out["luas_lantai"] * np.exp(rng.normal(0, 0.2, len(fam))), 1)
    return out


def register_member_copy(
    rng: np.random.Generator, members: pd.DataFrame, then: pd.DataFrame, drift: float
) -> pd.DataFrame:
    """Member variables as an older registry holds them: jobs and schooling drift."""
    out = members.copy()
    changing = ("partisipasi_sekolah", "bekerja", "lapangan_usaha", "status_pekerjaan")
    old = rng.random(len(members)) < drift
    for name in changing:
        out[name] = np.where(old, then[name].to_numpy(), members[name].to_numpy())
    lower = np.minimum(members["pendidikan"], then["pendidikan"].clip(lower=1))
    out["pendidikan"] = np.where(old, lower, members["pendidikan"]).astype(np.int32)
    return out
