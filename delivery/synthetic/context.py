"""Build the generator's :class:`ChunkContext` from configuration and the region hierarchy."""

from __future__ import annotations

from datetime import date

import numpy as np

from delivery.synthetic.population import ChunkContext
from delivery.synthetic.reference import Regions
from delivery.synthetic.settings import GenerateConfig


def build_context(cfg: GenerateConfig, regions: Regions) -> ChunkContext:
    """Flatten config and regions into arrays a worker can index without pandas lookups."""
    desa = regions.desa.sort_values(["prov_index", "kode_wilayah"], kind="stable")
    prov = regions.provinces
    counts = desa.groupby("prov_index").size().reindex(range(len(prov))).to_numpy()
    stop = np.cumsum(counts)
    share = prov["population"].to_numpy(dtype=float)
    share /= share.sum()
    families = cfg.individuals / 3.07
    return ChunkContext(
        seed=cfg.seed,
        reference_date=date.fromisoformat(cfg.reference_date),
        log_pce_sd=cfg.log_pce_sd,
        w_center=float(np.dot(share, prov["mu"].to_numpy())),
        prov_codes=prov["code"].to_numpy(dtype=object),
        prov_names=prov["name"].to_numpy(dtype=object),
        prov_mu=prov["mu"].to_numpy(),
        prov_share=share,
        desa_codes=desa["kode_wilayah"].to_numpy(dtype=object),
        desa_kab_effect=desa["kab_effect"].to_numpy(),
        desa_urban=desa["urban"].to_numpy(),
        desa_cum=desa["cum_weight"].to_numpy(),
        prov_start=stop - counts,
        prov_stop=stop,
        coverage=tuple(cfg.coverage.shares().values()),
        dirt=cfg.dirt.model_dump(),
        susenas_weight=families / max(cfg.susenas_households, 1),
        welfare_noise=cfg.welfare_noise,
    )
