"""Settings of the synthetic generator: population, coverage of the registries, dirt.

They live beside the generator, not in the platform: only ``jobs.generate`` reads them,
and no stage that runs on a real delivery depends on them. The platform profile nests
them under ``generate:`` so one file and one ``--set`` syntax configure every stage.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from dtsen.errors import BadConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CoverageConfig(_Strict):
    """Share of true families by the set of registries they appear in (sums to 1).

    R = Regsosek, P = P3KE, D = DTKS; ``none`` are families only Dukcapil knows.
    Defaults give 41.1% in all three (DTSEN, Feb 2025) and DTKS near 48-51%.
    """

    RPD: float = 0.411
    RP: float = 0.225
    RD: float = 0.045
    PD: float = 0.030
    R: float = 0.170
    P: float = 0.050
    D: float = 0.020
    none: float = 0.049

    def shares(self) -> dict[str, float]:
        values = self.model_dump()
        total = sum(values.values())
        if abs(total - 1.0) > 1e-6:
            raise BadConfigError(f"generate.coverage: shares must sum to 1, got {total:.6f}")
        return values


class DirtConfig(_Strict):
    """Rates of every kind of dirt the input contract lists (per record unless noted)."""

    nik_missing: float = 0.03
    nik_wrong_length: float = 0.004
    nik_letters: float = 0.003
    nik_bad_prefix: float = 0.002
    nik_impossible_date: float = 0.002
    nik_digit_typo: float = 0.006
    nik_shared_in_family: float = 0.004
    nik_old_ganda: float = 0.003
    kk_missing: float = 0.04
    kk_stale: float = 0.08
    """Per family and source: the source carries an older KK number."""
    dukcapil_date_disagrees_nik: float = 0.005
    dukcapil_sex_disagrees_nik: float = 0.001
    dukcapil_unregistered: float = 0.004
    """Persons whose Dukcapil record is missing from the extract (their NIK is unknown)."""
    dukcapil_ganda: float = 0.003
    """Persons who also hold an older, retired (GANDA) NIK record."""
    deceased: float = 0.008
    pindah_ln: float = 0.002
    name_title: float = 0.05
    name_muhammad_variant: float = 0.6
    """Among names starting with Muhammad: written as another variant in a source."""
    name_old_spelling: float = 0.03
    name_typo: float = 0.03
    name_token_swap: float = 0.02
    name_token_missing: float = 0.03
    birth_default_date: float = 0.03
    birth_year_only: float = 0.01
    birth_day_month_swap: float = 0.01
    birth_typo: float = 0.01
    address_rt_rw_in_text: float = 0.4
    family_split: float = 0.03
    """Per family and source: the family is registered as two KKs in that source."""
    member_moved: float = 0.02
    """Per person in an older source (P3KE, DTKS): listed in a previous family."""
    region_moved: float = 0.03
    """Per family in an older source: recorded at a previous address and region."""
    duplicate_row: float = 0.002
    malformed_column_count: float = 0.0005
    malformed_text_in_number: float = 0.0005
    malformed_code_out_of_range: float = 0.0005


class GenerateConfig(_Strict):
    seed: int = 20250205
    individuals: int = 60000
    families_per_chunk: int = 2000
    """Unit of parallel, deterministic generation: one RNG stream per chunk."""
    susenas_households: int = 6000
    reference_date: str = "2025-02-01"
    poverty_line: float = 582932.0
    """BPS national poverty line, Rupiah per capita per month (March 2024)."""
    log_pce_sd: float = 0.55
    """Sd of the latent economic position the welfare variables are drawn from."""
    welfare_noise: float = 0.42
    """Sd of log per-capita expenditure around its expectation given the true variables
    (docs/data.md, Welfare model): sets how much a PMT can explain."""
    coverage: CoverageConfig = Field(default_factory=CoverageConfig)
    dirt: DirtConfig = Field(default_factory=DirtConfig)
