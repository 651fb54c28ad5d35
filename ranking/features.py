"""The PMT feature vector: one builder for the survey sample and the golden families.

Why one builder with two thin adapters: the model is trained on Susenas and applied to
the register, so a feature must mean exactly the same thing on both sides. The
adapters only rename columns into one input shape (a family table and a member
table); every feature is then computed by the same Spark expressions, taken from the
spec in ``conf/pmt_features.yaml`` so that a data scientist changes features without
changing code.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from delivery.variables import DTKS_INDICATORS, FAMILY_VARIABLES, MEMBER_VARIABLES

KEY = "kunci"
DTKS_COLUMNS = tuple(c.lower() for c in DTKS_INDICATORS)
"""The DTKS indicators as ``gold/keluarga`` names them (``d1_tempat_berteduh`` ...)."""
FAMILY_INPUTS = (KEY, "kode_wilayah", *FAMILY_VARIABLES, *DTKS_COLUMNS)
MEMBER_INPUTS = (KEY, "jenis_kelamin", "tanggal_lahir", "hubungan", *MEMBER_VARIABLES)
SOURCES = {"R": "regsosek", "P": "p3ke", "D": "dtks"}
RELASI = ("R", "P", "D", "RP", "RD", "PD", "RPD")


class FeatureSpecError(ValueError):
    """The feature spec is malformed or one of its expressions does not resolve."""


@dataclass(frozen=True)
class Feature:
    name: str
    expr: str | None = None
    agg: str | None = None
    onehot: str | None = None
    codes: tuple[Any, ...] = ()
    keep: bool = True

    def outputs(self) -> list[str]:
        if self.onehot is not None:
            return [f"{self.name}_{code}" for code in self.codes]
        return [self.name]


@dataclass(frozen=True)
class FeatureSpec:
    """A parsed ``conf/pmt_features.yaml``; ``raw`` is kept to log and to store with the model."""

    name: str
    family: tuple[Feature, ...]
    members: tuple[Feature, ...]
    derived: tuple[Feature, ...]
    sources: dict[str, dict[str, Any]]
    dtks_from_survey: dict[str, Any]
    raw: dict[str, Any]

    @property
    def columns(self) -> list[str]:
        """The model's input columns, in order."""
        stages = (*self.family, *self.members, *self.derived)
        return [c for f in stages if f.keep for c in f.outputs()]

    @property
    def fingerprint(self) -> str:
        """A short content hash, so runs with the same features can be grouped."""
        canonical = json.dumps(self.raw, sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]

    def available(self, relasi: str) -> tuple[set[str], set[str]]:
        """The family and member inputs a family found in the ``relasi`` sources has."""
        family: set[str] = set()
        members: set[str] = set()
        for letter in relasi:
            source = self.sources[SOURCES[letter]]
            family |= set(FAMILY_VARIABLES) if source["family"] == "all" else set(source["family"])
            members |= (
                set(MEMBER_VARIABLES) if source["members"] == "all" else set(source["members"])
            )
        return family, members

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str) -> FeatureSpec:
        """Validate the structure (expressions are checked when the builder runs)."""

        def fail(message: str) -> FeatureSpecError:
            return FeatureSpecError(f"{source}: {message}")

        def features(stage: str, kind: str) -> tuple[Feature, ...]:
            out = []
            for i, item in enumerate(raw.get(stage) or []):
                if not isinstance(item, dict) or "name" not in item:
                    raise fail(f"{stage}[{i}]: expected a mapping with a name")
                unknown = set(item) - {"name", "expr", "agg", "onehot", "codes", "keep"}
                if unknown:
                    raise fail(f"{stage}.{item['name']}: unknown keys {sorted(unknown)}")
                feature = Feature(
                    name=str(item["name"]),
                    expr=item.get("expr"),
                    agg=item.get("agg"),
                    onehot=item.get("onehot"),
                    codes=tuple(item.get("codes") or ()),
                    keep=bool(item.get("keep", True)),
                )
                given = [k for k in ("expr", "agg", "onehot") if getattr(feature, k) is not None]
                allowed = ("agg",) if kind == "agg" else ("expr", "onehot")
                if len(given) != 1 or given[0] not in allowed:
                    raise fail(f"{stage}.{feature.name}: needs exactly one of {allowed}")
                if feature.onehot is not None and not feature.codes:
                    raise fail(f"{stage}.{feature.name}: onehot needs a list of codes")
                out.append(feature)
            return tuple(out)

        spec = cls(
            name=str(raw.get("name", "unnamed")),
            family=features("family", "expr"),
            members=features("members", "agg"),
            derived=features("derived", "expr"),
            sources=dict(raw.get("sources") or {}),
            dtks_from_survey=dict(raw.get("dtks_from_survey") or {}),
            raw=raw,
        )
        missing = sorted(set(SOURCES.values()) - set(spec.sources))
        if missing:
            raise fail(f"sources: missing {missing}")
        names = [f.name for f in (*spec.family, *spec.members, *spec.derived)]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice or len(spec.columns) != len(set(spec.columns)):
            raise fail(f"feature names used twice: {twice or 'after one-hot expansion'}")
        unknown_dtks = sorted(set(spec.dtks_from_survey) - set(DTKS_COLUMNS))
        if unknown_dtks:
            raise fail(f"dtks_from_survey: unknown indicators {unknown_dtks}")
        return spec


def _resolved(spec_name: str, name: str, build: Callable[[], DataFrame]) -> DataFrame:
    # Spark analyses a new DataFrame eagerly, so a bad expression fails here, by name.
    try:
        return build()
    except AnalysisException as exc:
        raise FeatureSpecError(
            f"feature spec {spec_name!r}: feature {name!r} does not resolve: {exc}"
        ) from exc


def _with(frame: DataFrame, name: str, column: Callable[[], Column], spec_name: str) -> DataFrame:
    return _resolved(spec_name, name, lambda: frame.withColumn(name, column()))


def _steps(feature: Feature) -> list[tuple[str, Callable[[], Column]]]:
    """The columns a family-level feature adds (several for a one-hot), built lazily."""
    if feature.onehot is None:
        return [(feature.name, lambda: F.expr(feature.expr))]

    def indicator(code: Any) -> Callable[[], Column]:
        source = F.col(feature.onehot)
        return lambda: F.when(source.isNull(), None).otherwise((source == F.lit(code)).cast("int"))

    return [
        (name, indicator(code)) for name, code in zip(feature.outputs(), feature.codes, strict=True)
    ]


def _stage(frame: DataFrame, features: tuple[Feature, ...], spec_name: str) -> DataFrame:
    """Add a stage's features in one projection: they see the stage's inputs, not each
    other. One ``select`` keeps the plan shallow (a chain of ~170 ``withColumn`` per
    relasi mask made Spark's analysis the slowest part of training); a feature named
    like an input column replaces it."""
    steps = [step for feature in features for step in _steps(feature)]
    names = {name for name, _ in steps}
    keep = [c for c in frame.columns if c not in names]
    try:
        return frame.select(*keep, *[make().alias(name) for name, make in steps])
    except AnalysisException:
        for name, make in steps:  # find the feature to blame, and name it
            _with(frame, name, make, spec_name)
        raise


def build_features(
    families: DataFrame, members: DataFrame, spec: FeatureSpec, reference_date: date
) -> DataFrame:
    """One row per family: ``kunci``, ``kode_wilayah`` and the spec's columns (double).

    Args:
        families: ``FAMILY_INPUTS`` (one row per family; absent variables null).
        members: ``MEMBER_INPUTS`` (one row per member).
        spec: the feature spec.
        reference_date: ages (``umur``) are whole years at this date.
    """
    aged = members.withColumn(
        "umur", F.floor(F.months_between(F.lit(reference_date), "tanggal_lahir") / 12)
    )
    try:
        per_family = aged.groupBy(KEY).agg(*[F.expr(f.agg).alias(f.name) for f in spec.members])
    except AnalysisException:
        for f in spec.members:  # find the aggregate to blame, and name it
            _resolved(spec.name, f.name, lambda f=f: aged.groupBy(KEY).agg(F.expr(f.agg)))
        raise
    frame = families.select(*FAMILY_INPUTS).withColumn(
        "kode_prov", F.substring("kode_wilayah", 1, 2)
    )
    frame = _stage(frame, spec.family, spec.name).join(per_family, KEY, "left")
    frame = _stage(frame, spec.derived, spec.name)
    return frame.select(KEY, "kode_wilayah", *[F.col(c).cast("double") for c in spec.columns])


def survey_inputs(
    households: DataFrame, members: DataFrame, spec: FeatureSpec
) -> tuple[DataFrame, DataFrame]:
    """Susenas (bronze ``susenas_keluarga`` / ``susenas_individu``) in the builder's shape.

    The survey has no DTKS form: its indicators are derived from the detailed variables
    as ``dtks_from_survey`` says (a string is a household expression, ``{agg: ...}`` an
    aggregate over members), so that a masked copy that only "knows" DTKS keeps them.
    """
    people = members.select(
        F.col("id_ruta").alias(KEY),
        "jenis_kelamin",
        "tanggal_lahir",
        F.col("hubungan_kk").alias("hubungan"),
        *MEMBER_VARIABLES,
    )
    family = households.select(F.col("id_ruta").alias(KEY), "kode_wilayah", *FAMILY_VARIABLES)
    member_rules = {
        k: v["agg"] for k, v in spec.dtks_from_survey.items() if isinstance(v, dict) and "agg" in v
    }
    if member_rules:
        derived = _resolved(
            spec.name,
            "dtks_from_survey",
            lambda: people.groupBy(KEY).agg(*[F.expr(v).alias(k) for k, v in member_rules.items()]),
        )
        family = family.join(derived, KEY, "left")
    for name in DTKS_COLUMNS:
        rule = spec.dtks_from_survey.get(name)
        if isinstance(rule, str):
            family = _with(family, name, lambda rule=rule: F.expr(rule).cast("int"), spec.name)
        elif name not in member_rules:
            family = family.withColumn(name, F.lit(None).cast("int"))
    return family.select(*FAMILY_INPUTS), people


def golden_inputs(keluarga: DataFrame, individu: DataFrame) -> tuple[DataFrame, DataFrame]:
    """The golden register (``gold/keluarga`` / ``gold/individu``) in the builder's shape."""
    family = keluarga.select(
        F.col("dtsen_keluarga_id").alias(KEY), *[c for c in FAMILY_INPUTS if c != KEY]
    )
    people = individu.where(F.col("dtsen_keluarga_id").isNotNull()).select(
        F.col("dtsen_keluarga_id").alias(KEY), *[c for c in MEMBER_INPUTS if c != KEY]
    )
    return family, people


def mask(
    families: DataFrame, members: DataFrame, spec: FeatureSpec, relasi: str
) -> tuple[DataFrame, DataFrame]:
    """The inputs as a family found only in the ``relasi`` sources would have them.

    Variables no source in ``relasi`` holds become null; identity fields (sex, birth
    date, relationship, region) stay, since every source has them.
    """
    family_ok, member_ok = spec.available(relasi)

    def null(frame: DataFrame, name: str) -> Column:
        # Typed, so the masked inputs have exactly the unmasked schema.
        return F.lit(None).cast(frame.schema[name].dataType).alias(name)

    family_out = families.select(
        *[
            F.col(c) if c in (KEY, "kode_wilayah") or c in family_ok else null(families, c)
            for c in FAMILY_INPUTS
        ]
    )
    member_out = members.select(
        *[
            F.col(c) if c not in MEMBER_VARIABLES or c in member_ok else null(members, c)
            for c in MEMBER_INPUTS
        ]
    )
    return family_out, member_out
