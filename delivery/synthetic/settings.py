"""Settings of the synthetic generator: population, coverage of the registries, dirt.

They live beside the generator, not in the platform: only ``jobs.generate`` reads them,
and no stage that runs on a real delivery depends on them. The platform profile nests
them under ``generate:`` so one file and one ``--set`` syntax configure every stage.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

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


HASIL = (
    "DITEMUKAN",
    "ALAMAT_TIDAK_DITEMUKAN",
    "KELUARGA_TIDAK_DITEMUKAN",
    "PINDAH",
    "MENOLAK",
)
"""Ground-check outcomes (``shared/contract/updates.md``)."""
JENIS_SANGGAHAN = ("TIDAK_LAYAK", "BUKAN_ANGGOTA", "SUDAH_MENINGGAL")


def _shares(value: dict[str, float], expected: tuple[str, ...], name: str) -> dict[str, float]:
    if set(value) != set(expected) or abs(sum(value.values()) - 1.0) > 1e-6:
        raise ValueError(f"{name}: expected shares of {list(expected)} summing to 1, got {value}")
    return value


class UpdateConfig(_Strict):
    """One quarter's events and the update delivery's records, per quarter.

    Defaults are set from Indonesian vital rates and the programmes' 2025 volumes
    (``docs/data.md``, "The update delivery"); tests raise them to see every kind of
    event in a few hundred persons.
    """

    death_under_60: float = 0.0006
    death_60_74: float = 0.0063
    death_75_plus: float = 0.023
    """Probability of dying in the quarter by age (2.4, 25 and 92 per 1,000 a year: about
    6.7 a year overall on Indonesia's age structure, 4.6 on the generator's younger one)."""
    birth: float = 0.004
    """Births per living person (crude birth rate 16 per 1,000 a year), to married women
    aged 18-45 in the family; the baby joins the mother's KK."""
    registration: float = 0.25
    """Share of the persons missing from the first extract who register this quarter."""
    kk_split: float = 0.03
    """Share of families with a married child (or a child-in-law) in which that couple
    takes its own KK with its children (about 0.5% of all families)."""
    move: float = 0.0015
    """Families that move to another kab/kota (30% of them to another province)."""
    welfare_change: float = 0.05
    """Families whose situation changes: a job found or lost, assets bought or sold."""
    pbi_drop_upper: float = 0.25
    """PBI-JK members dropped this quarter in families above the median (desil 6-10) ..."""
    pbi_drop: float = 0.01
    """... and elsewhere (data cleaning)."""
    groundcheck: float = 0.09
    """Share of register families visited, before the proposals' verification visits."""
    groundcheck_hasil: dict[str, float] = Field(
        default_factory=lambda: dict(zip(HASIL, (0.86, 0.03, 0.04, 0.03, 0.04), strict=True))
    )
    """Outcome shares of a visit whose family did not move away (a family that moved is
    ``PINDAH``, a family whose members all died ``KELUARGA_TIDAK_DITEMUKAN``)."""
    member_not_found: float = 0.03
    """Listed living members not at home when the family is found (``TIDAK_DITEMUKAN``)."""
    usulan_dukcapil_only: float = 0.15
    """Families known only to Dukcapil that are proposed, weighted towards the poor."""
    usulan_new_kk: float = 0.2
    """Families that took a new KK this quarter (a split) that are proposed."""
    usulan_registered: float = 0.001
    """Register families proposed all the same (overlooked; 20 times as often when they
    moved and now hold another KK)."""
    usulan_twice: float = 0.1
    """Proposals made through both routes (FORMAL and MANDIRI)."""
    usulan_verified: float = 0.5
    """Proposals verified by a ground check in the same delivery."""
    sanggahan: float = 0.004
    """Objections per register family."""
    sanggahan_jenis: dict[str, float] = Field(
        default_factory=lambda: {"TIDAK_LAYAK": 0.5, "BUKAN_ANGGOTA": 0.25, "SUDAH_MENINGGAL": 0.25}
    )
    reaktivasi: float = 0.05
    """Dropped PBI-JK members who request reactivation (five times as often when
    chronically ill) ..."""
    reaktivasi_other: float = 0.0003
    """... and requests from other persons (never PBI, or not dropped)."""
    letters_missing: float = 0.2
    """Requests missing the dinas sosial's or the health facility's letter (or both)."""

    @field_validator("groundcheck_hasil")
    @classmethod
    def _hasil(cls, value: dict[str, float]) -> dict[str, float]:
        return _shares(value, HASIL, "groundcheck_hasil")

    @field_validator("sanggahan_jenis")
    @classmethod
    def _jenis(cls, value: dict[str, float]) -> dict[str, float]:
        return _shares(value, JENIS_SANGGAHAN, "sanggahan_jenis")


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
    update_output: str | None = None
    """Where the next quarter's update delivery (``shared/contract/updates.md``) is
    written, derived from this population; empty skips it."""
    update: UpdateConfig = Field(default_factory=UpdateConfig)

    @field_validator("update_output")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value.rstrip("/") or value if value and value.strip() else None
