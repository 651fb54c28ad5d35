"""Reference data for the synthetic delivery: provinces, a region hierarchy, name lists.

The region hierarchy has the national shape (38 provinces, 514 kab/kota, about 7,300
kecamatan and 84,000 desa/kelurahan) with BPS-style 10-digit codes. It is small (tens
of thousands of rows), built on the driver from the seed, and shipped to the workers
as NumPy arrays inside the generator's closure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from statistics import NormalDist

import numpy as np
import pandas as pd

KAB_TOTAL = 514
KOTA_TOTAL = 98
KEC_PER_KAB_MEAN = 14.2
DESA_PER_KEC_MEAN = 11.5

_PLACE_HEADS = [
    "SUKA",
    "MEKAR",
    "SIDO",
    "KARANG",
    "TEGAL",
    "SUMBER",
    "MARGA",
    "JATI",
    "WONO",
    "PURWO",
    "BANJAR",
    "CI",
    "TANJUNG",
    "BATU",
    "PASIR",
    "PADANG",
    "LUBUK",
    "AIR",
    "KAMPUNG",
    "BUKIT",
    "SUNGAI",
    "TELUK",
    "RANTAU",
    "LABUHAN",
    "GUNUNG",
]
_PLACE_TAILS = [
    "MAJU",
    "JAYA",
    "MULYA",
    "REJO",
    "SARI",
    "ASIH",
    "HARJO",
    "AGUNG",
    "BARU",
    "INDAH",
    "MAKMUR",
    "RAHAYU",
    "LESTARI",
    "MUKTI",
    "WANGI",
    "RAYA",
    "TIMUR",
    "BARAT",
    "UTARA",
    "SELATAN",
    "DALAM",
    "LUAR",
    "TENGAH",
]


@dataclass(frozen=True)
class Regions:
    """The region hierarchy as flat arrays, one row per desa (the unit families live in).

    ``province_code`` etc. are aligned arrays; ``cum_weight`` holds, per desa, the
    cumulative probability of a family living there *within its province*, so a
    family's desa is drawn with one ``searchsorted`` per province.
    """

    provinces: pd.DataFrame
    """code (BPS), name, population, poverty_rate, ump, mu (mean log per-capita spending)."""
    desa: pd.DataFrame
    """kode_wilayah, kode_kab, kode_kec, prov_index, urban, kab_effect, cum_weight."""
    wilayah: pd.DataFrame
    """The delivered ``referensi/wilayah.csv``: kode, nama, tingkat."""
    kab_population: pd.DataFrame
    """kode_kab, population (national scale), poor_share: basis of ``kemiskinan.csv``."""


def _place_name(rng: np.random.Generator, n: int) -> np.ndarray:
    heads = rng.choice(_PLACE_HEADS, n)
    tails = rng.choice(_PLACE_TAILS, n)
    return np.char.add(heads, tails)


def load_provinces() -> pd.DataFrame:
    """The 38 provinces (reference copy of ``shared/reference/provinces.csv``)."""
    path = resources.files("conf").joinpath("reference/provinces.csv")
    with path.open(encoding="utf-8") as handle:
        frame = pd.read_csv(handle, dtype={"code": str, "code_bps": str})
    return frame.rename(columns={"ump_2025": "ump"})


def load_names() -> dict:
    """Name lists: ``names.json`` merged with ``names_extra.json``."""
    merged: dict = {}
    for name in ("names.json", "names_extra.json"):
        with resources.files("conf").joinpath(f"reference/{name}").open(encoding="utf-8") as f:
            merged.update(json.load(f))
    return merged


def _split_total(total: int, weights: np.ndarray, minimum: int) -> np.ndarray:
    """Integer split of ``total`` proportional to ``weights``, with a floor (largest remainder)."""
    raw = weights / weights.sum() * (total - minimum * len(weights))
    base = np.floor(raw).astype(int)
    order = np.argsort(-(raw - base), kind="stable")
    base[order[: total - minimum * len(weights) - base.sum()]] += 1
    return base + minimum


def build_regions(seed: int, poverty_line: float, log_pce_sd: float) -> Regions:
    """Build the region hierarchy, deterministic in ``seed``.

    Kab/kota counts follow population (sub-linearly, as real provinces do); kota get
    codes 71+, kabupaten 01+; kecamatan codes are multiples of 10 (010, 020, ...) so the
    NIK's 2-digit kecamatan is the first two of the 3 digits, as the contract encodes it.
    """
    rng = np.random.default_rng([seed, 7001])
    prov = load_provinces()
    z = np.array([NormalDist().inv_cdf(r / 100.0) for r in prov["poverty_rate"]])
    prov = pd.DataFrame(
        {
            "code": prov["code_bps"],
            "name": prov["name"].str.upper(),
            "population": prov["population"].astype(np.int64),
            "poverty_rate": prov["poverty_rate"] / 100.0,
            "ump": prov["ump"].astype(np.int64),
            # P(log pce < log line) = poverty rate when log pce ~ N(mu, sd).
            "mu": np.log(poverty_line) - log_pce_sd * z,
        }
    )
    n_kab = _split_total(KAB_TOTAL, prov["population"].to_numpy() ** 0.6, 2)
    kota_share = KOTA_TOTAL / KAB_TOTAL

    wil_rows: list[tuple[str, str, str]] = []
    desa_parts: list[pd.DataFrame] = []
    kab_rows: list[tuple[str, int, float]] = []
    for p_index, row in prov.iterrows():
        wil_rows.append((row["code"], row["name"], "prov"))
        k = int(n_kab[p_index])
        n_kota = max(1, int(round(k * kota_share))) if k > 3 else 1
        kab_codes = [f"{i + 1:02d}" for i in range(k - n_kota)] + [
            f"{71 + i:02d}" for i in range(n_kota)
        ]
        kab_weight = rng.dirichlet(np.full(k, 2.0))
        kab_names = _place_name(rng, k)
        prov_desa = []
        for kab_i, kab_code in enumerate(kab_codes):
            urban = kab_code >= "71"
            kode_kab = row["code"] + kab_code
            label = ("KOTA " if urban else "KAB. ") + kab_names[kab_i]
            wil_rows.append((kode_kab, label, "kab"))
            kab_effect = rng.normal(0.0, 0.18) + (0.2 if urban else 0.0)
            n_kec = int(np.clip(rng.poisson(KEC_PER_KAB_MEAN * (0.6 if urban else 1.0)), 3, 99))
            kec_weight = rng.dirichlet(np.full(n_kec, 3.0))
            kec_names = _place_name(rng, n_kec)
            for kec_i in range(n_kec):
                kode_kec = f"{kode_kab}{(kec_i + 1) * 10:03d}"
                wil_rows.append((kode_kec, kec_names[kec_i], "kec"))
                n_desa = int(np.clip(rng.poisson(DESA_PER_KEC_MEAN), 2, 60))
                desa_weight = rng.dirichlet(np.full(n_desa, 3.0))
                desa_codes = [f"{kode_kec}{d + 1:03d}" for d in range(n_desa)]
                names = _place_name(rng, n_desa)
                wil_rows.extend(zip(desa_codes, names, ["desa"] * n_desa, strict=True))
                prov_desa.append(
                    pd.DataFrame(
                        {
                            "kode_wilayah": desa_codes,
                            "kode_kab": kode_kab,
                            "kode_kec": kode_kec,
                            "prov_index": p_index,
                            "urban": urban,
                            "kab_effect": kab_effect,
                            "weight": kab_weight[kab_i] * kec_weight[kec_i] * desa_weight,
                        }
                    )
                )
            pop = row["population"] * kab_weight[kab_i]
            kab_rows.append((kode_kab, pop, kab_effect))
        frame = pd.concat(prov_desa, ignore_index=True)
        frame["cum_weight"] = np.cumsum(frame["weight"]) / frame["weight"].sum()
        desa_parts.append(frame.drop(columns="weight"))

    kab = pd.DataFrame(kab_rows, columns=["kode_kab", "population", "kab_effect"])
    kab_mu = prov.set_index("code")["mu"].reindex(kab["kode_kab"].str[:2]).to_numpy()
    kab["population"] = kab["population"].round().astype(np.int64)
    kab["poor_share"] = [
        NormalDist(m + e, log_pce_sd).cdf(np.log(poverty_line))
        for m, e in zip(kab_mu, kab["kab_effect"], strict=True)
    ]
    return Regions(
        provinces=prov,
        desa=pd.concat(desa_parts, ignore_index=True),
        wilayah=pd.DataFrame(wil_rows, columns=["kode", "nama", "tingkat"]),
        kab_population=kab.drop(columns="kab_effect"),
    )
