"""Typed configuration: one YAML profile from ``conf/`` plus ``--set key=value`` overrides.

Why pydantic models with ``extra="forbid"``: a misspelt key in a profile must fail
loudly (naming the key) instead of silently falling back to a default, and every
default lives in exactly one place: these classes.

Strings in a profile may reference environment variables as ``${NAME}`` or
``${NAME:-default}``; a reference to an unset variable without a default is an error
that names the variable and the key.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from datetime import date
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from delivery.ingestion.mapping import SourceMapping
from delivery.synthetic.settings import GenerateConfig
from dtsen.errors import BadConfigError
from linkage.pipeline import LinkParams
from linkage.records import PersonSource
from publish.exports import Institution, check_secrets
from ranking.adjustments import AdjustmentRule
from ranking.evaluation import PROMOTION_METRICS
from ranking.features import RELASI, FeatureSpec
from ranking.trainers import XgbParams

T = TypeVar("T")
WEAK_SECRETS = {"", "dtsen", "dtsen-local", "secret", "changeme", "salt"}
MIN_SECRET_LENGTH = 32
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SparkConfig(_Strict):
    """How the one SparkSession builder configures Spark."""

    master: str | None = None
    """Spark master; ``None`` leaves it to ``spark-submit`` (cluster profiles)."""
    app_name: str = "dtsen"
    shuffle_partitions: int | Literal["auto"] | None = "auto"
    """``auto`` = 4 x local cores in local mode; ``None`` keeps Spark's/cluster's value."""
    driver_memory: str | None = None
    """Only honoured when the driver JVM is started by Python (local runs, not spark-submit)."""
    scratch_dir: str | None = None
    """Where each run keeps its checkpoints and Splink's intermediate tables, in a folder
    of its own (``<scratch_dir>/<run>``) deleted when the run ends. Full copies of personal
    data pass through it, so it is never inside the warehouse; ``None``: the system's
    temporary folder (local runs). A cluster needs a folder every executor reaches."""
    extra: dict[str, str] = Field(default_factory=dict)
    """Any further ``spark.*`` settings, passed through unchanged."""


class StorageConfig(_Strict):
    root: str
    """Warehouse root: a local folder or an hdfs://, s3a:// or abfss:// URI."""
    engine: Literal["auto", "delta-spark", "delta-rs"] = "auto"
    """``auto`` uses delta-spark when its JVM classes are present, delta-rs otherwise."""


class MlflowConfig(_Strict):
    tracking_uri: str | None = None
    """``None`` means SQLite inside the warehouse: ``sqlite:///<root>/mlflow.db``."""
    artifact_location: str | None = None
    """Where a new experiment keeps artifacts; ``None``: ``<root>/mlflow-artifacts`` with the
    default SQLite store, the tracking server's own store otherwise."""
    experiment: str = "dtsen-pmt"
    registered_model: str = "dtsen-pmt"


class TuningConfig(_Strict):
    """Grouped cross-validation of the tuned XGBoost candidate (``ranking.tuning``)."""

    folds: int = 4
    """Folds of whole provinces, balanced by survey weight."""
    early_stopping_rounds: int = 30
    max_rounds: int = 800
    """Upper bound on trees; early stopping on each held-out fold picks the number."""
    grid: dict[str, list[float]] = Field(
        default_factory=lambda: {
            "max_depth": [2, 4],
            "min_child_weight": [10.0, 40.0],
            "learning_rate": [0.1],
        }
    )
    """Hyperparameters (``XgbParams`` names) and the values tried; others as in
    ``pmt.hyperparameters`` (with ``reg_lambda`` from ``regularisation``)."""
    reg_lambda: float = 5.0
    """L2 regularisation of leaf weights for the tuned candidate."""
    monotone: dict[str, int] = Field(
        default_factory=lambda: {
            "luas_lantai_per_kapita": 1,
            "aset_*": 1,
            "daya_listrik": 1,
            "pendidikan_maks": 1,
            "kepala_pendidikan": 1,
            "log_jumlah_anggota": -1,
            "jumlah_anggota": -1,
            "lantai_tanah_bambu": -1,
            "listrik_450_atau_tanpa": -1,
        }
    )
    """Monotone constraints, glob pattern -> +1 (welfare rises) / -1 (falls): space per
    person, assets, power, schooling up; household size, earth floor, 450 VA down."""

    @field_validator("grid")
    @classmethod
    def _known_params(cls, value: dict[str, list[float]]) -> dict[str, list[float]]:
        unknown = sorted(set(value) - set(XgbParams().as_dict()))
        if unknown or not all(value.values()):
            raise ValueError(f"unknown or empty {unknown or list(value)}; expected XgbParams names")
        return value


class PmtConfig(_Strict):
    features: str = "pmt_features.yaml"
    """Feature spec, relative to the profile's folder or packaged ``conf/``."""
    trainer: Literal["xgboost", "xgboost-spark"] = "xgboost"
    spark_workers: int = 2
    """Executors (barrier tasks) for the ``xgboost-spark`` trainer."""
    hyperparameters: XgbParams = Field(default_factory=XgbParams)
    """The default XGBoost candidate (compared with the tuned one and with WLS)."""
    tuning: TuningConfig = Field(default_factory=TuningConfig)
    seed: int = 42
    holdout_fraction: float = 0.2
    survey_date: str = "2025-02-01"
    """Reference date of the survey sample (members' ages are taken at it)."""
    missing_patterns: dict[str, float] = Field(
        default_factory=lambda: {"RPD": 1.0, "P": 0.3, "D": 0.3, "PD": 0.3}
    )
    """Relasi patterns the training set is masked to, with each copy's weight factor."""
    relasi_mix: dict[str, float] = Field(
        default_factory=lambda: {
            "RPD": 0.411,
            "RP": 0.225,
            "R": 0.170,
            "RD": 0.045,
            "PD": 0.030,
            "P": 0.050,
            "D": 0.020,
        }
    )
    """Share of register families per relasi (DTSEN, Feb 2025): the headline holdout metrics
    weight each masked copy of the holdout by it, to measure ranking as the register sees it."""
    evaluation_folds: int = Field(5, ge=2)
    """Household folds in which the training households are scored out of fold, for the
    ``cv_`` metrics (``ranking.training.cross_validated``)."""
    evaluation_repeats: int = Field(3, ge=1)
    """How many times the folds are drawn anew (the ``cv_`` metrics are the mean): the split
    moves a candidate's margin by about 0.5 pp on the default survey."""
    promotion_metric: str = "cv_exclusion_error_40"
    """The metric a new run must beat the champion on to take the alias (one of
    ``ranking.evaluation.PROMOTION_METRICS``). By default the cross-validated one over
    the training households: four times the holdout's households, so a margin of a pp
    or two is not decided by which households the holdout happened to draw."""
    min_improvement: float = 0.005
    """Margin the challenger must beat both the champion and the run's WLS baseline by
    (0.5 pp of exclusion error by default: a tie or noise-sized gain keeps the champion)."""

    @field_validator("promotion_metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        if value not in PROMOTION_METRICS:
            raise ValueError(f"unknown metric {value!r}; expected one of {list(PROMOTION_METRICS)}")
        return value

    @field_validator("missing_patterns", "relasi_mix")
    @classmethod
    def _known_relasi(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(RELASI))
        if unknown:
            raise ValueError(f"unknown relasi {unknown}; expected a subset of {list(RELASI)}")
        return value


class IngestConfig(_Strict):
    sources: str = "sources/contract.yaml"
    """Source mapping file, relative to the profile's folder (or packaged ``conf/``)."""
    update_sources: str = "sources/update.yaml"
    """The mapping of a quarter's update delivery (``jobs/update.py``)."""
    batch: str | None = None
    """Batch id written to ``_ingest_batch``; ``None`` derives it from the delivery's files."""
    absent: list[str] = Field(default_factory=list)
    """Sources (``dtks``, ``admin``, ...) knowingly absent this period: their tables are
    written empty. Any other missing table fails ingest, naming it."""


class LinkageConfig(_Strict):
    sources: str = "linkage.yaml"
    """Person field mapping per source, relative to the profile's folder or packaged conf/."""
    match_threshold: float = 0.95
    """Pairs at or above this match probability are linked."""
    review_threshold: float = 0.5
    """Pairs from here up to ``match_threshold`` go to ``gold/review_pasangan``."""
    u_max_pairs: float = 2_000_000
    """Random pairs for Splink's u estimation."""
    training_fraction: float = 1.0
    """Share of kab/kota (whole regions, so matches stay together) used to train the model."""
    min_training_records: int = 1000
    """A batch with fewer records is scored with the saved model (``model_dir``'s
    latest), if there is one, instead of training on a handful of pairs."""
    max_block_pairs: int = 5_000_000
    """A prediction rule skips a block making more pairs than this (a common name in a
    large kab/kota, a default date): its pairs must come through the other rules. The
    capped blocks and pairs are reported per rule."""
    seed: int = 42
    id_salt: str | None = "dtsen"
    """The secret DTSEN ids are an HMAC under; set it per deployment (environment), or
    name a file holding it with ``id_salt_file`` (which wins)."""
    id_salt_file: str | None = None
    """A file (e.g. a mounted secret) whose content, stripped, is the ID secret."""
    strong_salt: bool = False
    """Refuse a missing, default or short secret (at least 32 characters): the cluster
    profile sets it, so production IDs are never minted under a guessable key."""
    model_dir: str | None = None
    """Where model JSON and charts go; default ``<storage.root>/models/linkage``."""
    reference_date: str = "2025-02-01"
    """The delivery's extract date: a NIK's 2-digit birth year is taken in the latest
    century not after it (a linkage setting: no stage on a real delivery reads the
    generator's settings)."""

    @field_validator("reference_date")
    @classmethod
    def _iso_date(cls, value: str) -> str:
        date.fromisoformat(value)
        return value

    @property
    def secret(self) -> str:
        """The ID secret: the content of ``id_salt_file`` if set, else ``id_salt``."""
        if self.id_salt_file:
            try:
                return Path(self.id_salt_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise BadConfigError(f"linkage.id_salt_file: cannot read: {exc}") from exc
        return self.id_salt or ""

    @model_validator(mode="after")
    def _strong_enough(self) -> LinkageConfig:
        if self.strong_salt:
            secret = self.secret
            if secret in WEAK_SECRETS or len(secret) < MIN_SECRET_LENGTH:
                raise ValueError(
                    f"the ID secret is missing, a default or shorter than {MIN_SECRET_LENGTH} "
                    "characters: set DTSEN_ID_SALT (or linkage.id_salt_file) to a long random value"
                )
        return self


class RankingConfig(_Strict):
    periode: str = "2025Q1"
    """The period this run ranks (``YYYYQn``); each run replaces its own period's rows."""
    model_uri: str = "models:/dtsen-pmt@champion"
    """The PMT to score with; an alias is resolved to its version, recorded on every row."""
    adjustments: list[AdjustmentRule] = Field(
        default_factory=lambda: [
            AdjustmentRule("PLN_DAYA_TINGGI", "daya_va_maks", above=2200, shift=0.25),
            AdjustmentRule("MOBIL_TERDAFTAR", "jumlah_mobil", above=0, shift=0.35),
            AdjustmentRule("UPAH_DI_ATAS_UMP", "upah_rasio_ump", above=1.0, shift=0.2),
        ]
    )
    """Administrative rules that move the score (``code``, ``signal``, ``above``, ``shift``)."""
    desil_buckets: int | None = None
    """Score buckets of the national desil step; ``None`` sizes them from the row count."""
    factors_top: int = Field(default=5, ge=1)
    """Features per family kept in ``gold/peringkat_faktor`` (largest contributions)."""

    @field_validator("periode")
    @classmethod
    def _quarter(cls, value: str) -> str:
        if not re.fullmatch(r"[0-9]{4}Q[1-4]", value):
            raise ValueError(f"expected a quarter like 2025Q2, got {value!r}")
        return value

    @property
    def reference_date(self) -> date:
        """First day of the period's quarter: members' ages are taken at it."""
        return date(int(self.periode[:4]), 3 * int(self.periode[5]) - 2, 1)


class ProgramConfig(_Strict):
    unit: Literal["keluarga", "individu"]
    """PKH and SEMBAKO allocate families, PBI-JK persons."""
    max_desil: int = Field(ge=1, le=10)
    desil: Literal["desil_nasional", "desil_provinsi", "desil_kabkota"] = "desil_nasional"
    national_quota: int = Field(gt=0)
    """Families or persons nationally (Kepmensos 79/2025); scaled to the delivery."""


class AllocationConfig(_Strict):
    programs: str = "programs.yaml"
    """Program rules, relative to the profile's folder or packaged ``conf/``."""
    national_population: int = 285_579_122
    """DTSEN persons (Feb 2025): quotas are scaled by delivery population / this."""


class ExportsConfig(_Strict):
    """The data-balikan extracts (``jobs/export.py``, docs/exports.md)."""

    institutions: str = "exports.yaml"
    """Who receives which tables and columns, and where each one's secret is
    (``publish.exports.Institution``), relative to the profile's folder or packaged conf/."""
    strong_secrets: bool | None = None
    """Refuse an institution's development default and any weak or short secret;
    ``None``: as ``linkage.strong_salt`` (the cluster profile's production check)."""


class Config(_Strict):
    profile: str
    input: str | None = "data/synthetic"
    """The delivery to read (``--input``); empty means none (stages that read one fail)."""
    storage: StorageConfig
    spark: SparkConfig = Field(default_factory=SparkConfig)
    mlflow: MlflowConfig = Field(default_factory=MlflowConfig)
    generate: GenerateConfig = Field(default_factory=GenerateConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    linkage: LinkageConfig = Field(default_factory=LinkageConfig)
    pmt: PmtConfig = Field(default_factory=PmtConfig)
    ranking: RankingConfig = Field(default_factory=RankingConfig)
    allocation: AllocationConfig = Field(default_factory=AllocationConfig)
    exports: ExportsConfig = Field(default_factory=ExportsConfig)
    conf_dir: str = ""
    """Folder of the profile file, for resolving relative references (set by the loader)."""

    @field_validator("input")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return value.rstrip("/") or value

    @property
    def delivery(self) -> str:
        """The delivery folder or URI, for the stages that read (or write) one.

        Raises:
            BadConfigError: none is configured (an empty ``input``, e.g. an unset
                ``DTSEN_INPUT`` under the cluster profile).
        """
        if self.input is None:
            raise BadConfigError("input: no delivery named: pass --input (or set DTSEN_INPUT)")
        return self.input

    @property
    def tracking_uri(self) -> str:
        if self.mlflow.tracking_uri:
            return self.mlflow.tracking_uri
        root = self.storage.root
        if "://" in root:
            raise BadConfigError(
                "mlflow.tracking_uri: required when storage.root is a remote URI "
                f"({root!r}); SQLite needs a local file"
            )
        return f"sqlite:///{Path(root).resolve()}/mlflow.db"

    @property
    def mlflow_artifact_location(self) -> str | None:
        if self.mlflow.artifact_location or self.mlflow.tracking_uri:
            return self.mlflow.artifact_location
        return f"{Path(self.storage.root).resolve()}/mlflow-artifacts"

    @property
    def linkage_params(self) -> LinkParams:
        """The linkage settings as the pure pipeline takes them."""
        lk = self.linkage
        return LinkParams(
            match_threshold=lk.match_threshold,
            review_threshold=lk.review_threshold,
            u_max_pairs=lk.u_max_pairs,
            training_fraction=lk.training_fraction,
            seed=lk.seed,
            id_salt=lk.secret,
            reference_year=date.fromisoformat(lk.reference_date).year,
            min_training_records=lk.min_training_records,
            max_block_pairs=lk.max_block_pairs,
            periode=self.ranking.periode,
        )

    @property
    def linkage_model_dir(self) -> str:
        return self.linkage.model_dir or f"{self.storage.root.rstrip('/')}/models/linkage"

    @property
    def scratch_root(self) -> str:
        """The parent of every run's scratch folder (see ``spark.scratch_dir``)."""
        if self.spark.scratch_dir:
            return self.spark.scratch_dir.rstrip("/")
        return str(Path(tempfile.gettempdir(), "dtsen-scratch"))

    def conf_file(self, relative: str, parse: Callable[[Any], T]) -> T:
        """A YAML file the profile references, parsed by ``parse`` (see ``read_yaml``)."""
        return parse_yaml(self.resolve_conf_file(relative), parse)

    def programs(self) -> dict[str, ProgramConfig]:
        """The programs of ``allocation.programs``."""
        return self.conf_file(
            self.allocation.programs,
            TypeAdapter(dict[str, ProgramConfig]).validate_python,
        )

    def institutions(self) -> dict[str, Institution]:
        """The institutions of ``exports.institutions``.

        Raises:
            BadConfigError: as :meth:`conf_file`, or an institution names a program that
                ``allocation.programs`` does not allocate.
        """
        institutions = self.conf_file(
            self.exports.institutions, TypeAdapter(dict[str, Institution]).validate_python
        )
        programs = self.programs()
        for name, institution in institutions.items():
            if institution.program is not None and institution.program not in programs:
                raise BadConfigError(
                    f"{self.exports.institutions}: {name}.program: {institution.program!r} "
                    f"is not allocated; expected one of {sorted(programs)}"
                )
        return institutions

    def export_secrets(self, institutions: dict[str, Institution]) -> dict[str, str]:
        """Each row-level institution's pseudonym secret (export name -> secret).

        Checked when an export runs, not when the profile loads, so other stages need
        no export secret. With the production checks on (``exports.strong_secrets``)
        a development default, a weak or a short secret is refused, like the ID secret;
        a secret shared by two institutions, or with the ID secret, always is.

        Raises:
            BadConfigError: naming the institution and the variable or file to set.
        """
        strong = self.exports.strong_secrets
        strong = self.linkage.strong_salt if strong is None else strong
        secrets = {
            name: _export_secret(name, institution, strong)
            for name, institution in institutions.items()
            if institution.lingkup != "agregat"
        }
        check_secrets({**secrets, "linkage.id_salt": self.linkage.secret})
        return secrets

    def source_mapping(self, update: bool = False) -> SourceMapping:
        """The delivery layout of ``ingest.sources`` (``ingest.update_sources`` for an
        update delivery): tables, columns, codes."""
        path = self.ingest.update_sources if update else self.ingest.sources
        return self._mapping_file(path, ())

    def _mapping_file(self, relative: str, within: tuple[str, ...]) -> SourceMapping:
        """A mapping file with the tables it ``extends`` resolved (recursively)."""
        mapping = self.conf_file(relative, SourceMapping.model_validate)
        if mapping.extends is None:
            return mapping
        if relative in within:
            raise BadConfigError(f"{relative}: extends itself ({' -> '.join(within)})")
        base = self._mapping_file(mapping.extends.mapping, (*within, relative))
        try:
            return mapping.extended(base)
        except ValueError as exc:
            raise BadConfigError(f"{relative}: {exc}") from exc

    def person_sources(self, section: str = "sources") -> dict[str, PersonSource]:
        """Which columns feed which person field, per source (``linkage.sources``):
        the first period's ``sources``, or an update's ``update_sources``."""
        return self.conf_file(
            self.linkage.sources,
            lambda tree: TypeAdapter(dict[str, PersonSource]).validate_python(tree[section]),
        )

    def feature_spec(self) -> FeatureSpec:
        """The PMT features of ``pmt.features``."""
        source = str(self.resolve_conf_file(self.pmt.features))
        return self.conf_file(self.pmt.features, lambda tree: FeatureSpec.from_dict(tree, source))

    def resolve_conf_file(self, relative: str) -> Path | Traversable:
        """Find a file referenced by the profile: beside it first, then in packaged ``conf/``.

        A packaged file is returned as a ``Traversable`` (read it with ``read_text``): when
        the project runs from a zip (``spark-submit --py-files``) it is no real file.
        """
        beside = Path(self.conf_dir, relative)
        if beside.is_file():
            return beside
        packaged = resources.files("conf").joinpath(relative)
        if packaged.is_file():
            return packaged
        raise BadConfigError(f"config file {relative!r} not found in {self.conf_dir!r} or conf/")


def _export_secret(name: str, institution: Institution, strong: bool) -> str:
    """``secret_file``'s content, else ``$secret_env``, else (development only) the
    default; with ``strong``, the default or a weak or short value is refused."""
    where, env = f"exports: {name}", institution.secret_env
    remedy = f"set {env or 'secret_file'} to a long random value of its own"
    if institution.secret_file:
        try:
            secret = Path(institution.secret_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise BadConfigError(f"{where}: secret_file: cannot read: {exc}") from exc
    elif env and os.environ.get(env):
        secret = os.environ[env]
    elif strong:
        raise BadConfigError(
            f"{where}: no secret set, and the development default is refused by the "
            f"production checks: {remedy}"
        )
    else:
        secret = institution.dev_secret or ""
    if not secret:
        raise BadConfigError(f"{where}: no secret: {remedy}")
    weak = secret in WEAK_SECRETS or secret == institution.dev_secret
    if strong and (weak or len(secret) < MIN_SECRET_LENGTH):
        raise BadConfigError(
            f"{where}: the secret is a default or shorter than {MIN_SECRET_LENGTH} "
            f"characters: {remedy}"
        )
    return secret


def read_yaml(source: Path | Traversable) -> Any:
    """The YAML document in ``source``: the one loader of every configuration file.

    Raises:
        BadConfigError: the file is missing or unreadable, or not valid YAML.
    """
    if not source.is_file():
        raise BadConfigError(f"config file {str(source)!r} does not exist")
    try:
        return yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise BadConfigError(f"{source}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise BadConfigError(f"{source}: not valid YAML: {exc}") from exc


def parse_yaml(source: Path | Traversable, parse: Callable[[Any], T]) -> T:
    """``parse`` applied to the YAML in ``source``; any failure names the file.

    Raises:
        BadConfigError: unreadable, not YAML, or ``parse`` rejects the document (a
            pydantic error lists every offending key).
    """
    tree = read_yaml(source)
    try:
        return parse(tree)
    except ValidationError as exc:
        raise BadConfigError(f"{source}: {_describe(exc)}") from exc
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BadConfigError(f"{source}: {type(exc).__name__}: {exc}") from exc


def _expand_env(value: Any, key: str) -> Any:
    if isinstance(value, dict):
        return {k: _expand_env(v, f"{key}.{k}" if key else k) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v, f"{key}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise BadConfigError(f"{key}: environment variable {name} is not set and has no default")

    return _ENV_REF.sub(substitute, value)


def _apply_override(tree: dict[str, Any], assignment: str) -> None:
    if "=" not in assignment:
        raise BadConfigError(f"--set {assignment!r}: expected key=value")
    dotted, raw = assignment.split("=", 1)
    parts = dotted.strip().split(".")
    node = tree
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise BadConfigError(f"--set {dotted}: {part!r} is not a section")
        node = child
    node[parts[-1]] = yaml.safe_load(raw) if raw != "" else None


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"])
        if item["type"] == "extra_forbidden":
            lines.append(f"{where}: unknown key")
        elif item["type"] == "missing":
            lines.append(f"{where}: required value missing")
        else:
            lines.append(f"{where}: {item['msg']} (got {item.get('input')!r})")
    return "; ".join(lines)


def default_profile() -> Path | Traversable:
    """The embedded default profile, ``conf/local.yaml``, wherever the package is installed.

    A ``Path`` for an installed or source tree, a ``Traversable`` inside a zip.
    """
    return resources.files("conf").joinpath("local.yaml")


def load_config(
    path: str | Path | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    *,
    input_dir: str | None = None,
    warehouse: str | None = None,
) -> Config:
    """Load a profile, apply overrides and the ``--input``/``--warehouse`` shortcuts, validate.

    Raises:
        BadConfigError: the file is missing or not YAML, a key is unknown, a required
            value is missing or has the wrong type, or an environment reference is unset.
    """
    profile: Path | Traversable = Path(path) if path else default_profile()
    tree = read_yaml(profile) or {}
    if not isinstance(tree, dict):
        raise BadConfigError(f"{profile}: top level must be a mapping")
    for assignment in overrides:
        _apply_override(tree, assignment)
    if input_dir is not None:
        tree["input"] = input_dir
    if warehouse is not None:
        tree.setdefault("storage", {})["root"] = warehouse
    tree["conf_dir"] = str(profile.parent)
    tree = _expand_env(tree, "")
    try:
        return Config.model_validate(tree)
    except ValidationError as exc:
        raise BadConfigError(f"{profile}: {_describe(exc)}") from exc
