"""Data-balikan: the extracts each institution receives from one period of the register.

An institution (``conf/exports.yaml``, parsed into :class:`Institution`) gets a few
tables, each holding only the columns configured for it out of the catalogue below:

* ``individu``, ``keluarga``, ``penerima``: one row per person, family or program
  recipient in the institution's scope (a Kemensos program's recipients, or one
  kab/kota for its dinas sosial);
* ``keluarga_per_desil``, ``penerima_per_program``: counts only; the configured columns
  are the grouping keys and the measures. An institution of scope ``agregat`` (BPS) may
  hold nothing else, so it receives no person or family rows at all.

Persons and families are keyed by pseudonyms: ``pseudonim`` is the HMAC-SHA256 of the
person's NIK under the institution's own secret (of the ``dtsen_individu_id`` when the
person has no valid NIK; ``dasar_pseudonim`` says which), ``pseudonim_keluarga`` the
same of the family's KK number (or ``dtsen_keluarga_id``). Each institution has its own
secret, so two extracts share no key and cannot be joined without both secrets, while
an institution given its secret can find the persons of its own NIK lists. Rows are
ordered by a keyed hash of the DTSEN id under the same secret: ordering by the id itself
would line up two institutions' files row by row.

Pure: gold tables in, DataFrames out; the job reads and writes (``jobs/export.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from dtsen.errors import BadConfigError
from linkage.ids import hmac_sha256

Scope = Literal["program", "kabkota", "agregat"]
NIK_OR_KK = r"^[0-9]{16}$"
"""A usable NIK or KK number: 16 digits (``gold/individu.nik`` is already null when the
linkage found it invalid; a family's ``no_kk`` may still be dirty)."""


def _pseudonym(key: str, fallback: str, basis: str) -> Callable[[str], tuple[Column, Column]]:
    """HMAC of ``key`` when it is a valid 16-digit number, else of ``fallback`` (the DTSEN
    id), and a column naming which (``basis`` or ``DTSEN_ID``); null when ``fallback`` is
    (a family-program recipient has no person)."""

    def build(secret: str) -> tuple[Column, Column]:
        valid = F.coalesce(F.col(key).rlike(NIK_OR_KK), F.lit(False))
        present = F.col(fallback).isNotNull()
        value = F.when(valid, hmac_sha256(F.col(key), secret)).otherwise(
            hmac_sha256(F.col(fallback), secret)
        )
        return (
            F.when(present, value),
            F.when(present, F.when(valid, F.lit(basis)).otherwise(F.lit("DTSEN_ID"))),
        )

    return build


_PERSON = _pseudonym("nik", "dtsen_individu_id", "NIK")
_FAMILY = _pseudonym("no_kk", "dtsen_keluarga_id", "NO_KK")
KEYED: dict[str, tuple[Callable[[str], tuple[Column, Column]], int]] = {
    "pseudonim": (_PERSON, 0),
    "dasar_pseudonim": (_PERSON, 1),
    "pseudonim_keluarga": (_FAMILY, 0),
    "dasar_pseudonim_keluarga": (_FAMILY, 1),
}
"""Columns computed under the institution's secret: (builder, which of its two columns)."""

DERIVED: dict[str, Callable[[], Column]] = {
    "tahun_lahir": lambda: F.year("tanggal_lahir"),
    "kode_kab": lambda: F.substring("kode_wilayah", 1, 4),
    "kode_prov": lambda: F.substring("kode_wilayah", 1, 2),
}
"""Columns derived from the gold tables (built when used: a Column needs a running
session); every other catalogue column is taken as stored."""


def _plain(name: str) -> Column:
    return DERIVED[name]() if name in DERIVED else F.col(name)


DESIL = ("desil_nasional", "desil_provinsi", "desil_kabkota")
ROWS: dict[str, frozenset[str]] = {
    "individu": frozenset(
        {*KEYED, "nik", "nama", "jenis_kelamin", "tanggal_lahir", "tahun_lahir", "hubungan"}
        | {"status_padan", "kode_wilayah", "kode_kab", "kode_prov", *DESIL}
    ),
    "keluarga": frozenset(
        {"pseudonim_keluarga", "dasar_pseudonim_keluarga", "no_kk", "kode_wilayah", "kode_kab"}
        | {"kode_prov", "jumlah_anggota", "relasi", "persentil_nasional", *DESIL}
    ),
    "penerima": frozenset(
        {*KEYED, "nik", "nama", "no_kk", "program", "prioritas", "alasan", "kode_wilayah"}
        | {"kode_kab", "kode_prov", *DESIL}
    ),
}
"""Row-level tables and the columns each may hold (``nik``, ``nama``, ``no_kk``: raw
identifiers, configured for nobody by default)."""
ORDER = {
    "individu": ("dtsen_individu_id",),
    "keluarga": ("dtsen_keluarga_id",),
    "penerima": ("program", "dtsen_keluarga_id", "dtsen_individu_id"),
}
"""Each row table's unique key; rows are ordered by its HMAC under the institution's
secret (``program`` included, hashed like the rest: one rule for every part)."""


@dataclass(frozen=True)
class Aggregate:
    """A count table: ``base`` rows grouped by the configured keys, with the configured
    measures."""

    base: str
    keys: frozenset[str]
    measures: dict[str, Callable[[], Column]]


AGGREGATES: dict[str, Aggregate] = {
    "keluarga_per_desil": Aggregate(
        "keluarga",
        frozenset({"kode_prov", "kode_kab", *DESIL}),
        {"keluarga": lambda: F.count(F.lit(1)), "jiwa": lambda: F.sum("jumlah_anggota")},
    ),
    "penerima_per_program": Aggregate(
        "penerima",
        frozenset({"program", "kode_prov", "kode_kab", *DESIL}),
        {
            "penerima": lambda: F.count(F.lit(1)),
            "keluarga": lambda: F.count_distinct("dtsen_keluarga_id"),
        },
    ),
}


def allowed_columns(table: str) -> list[str]:
    """The catalogue of ``table``'s columns (empty for an unknown table)."""
    if table in AGGREGATES:
        aggregate = AGGREGATES[table]
        return sorted(aggregate.keys | set(aggregate.measures))
    return sorted(ROWS.get(table, ()))


class Institution(BaseModel):
    """One receiver of extracts, as ``conf/exports.yaml`` configures it.

    ``secret_env``, ``secret_file`` and ``dev_secret`` may contain ``{kab}``: a kab/kota
    template gets one secret per kab/kota, so no two dinas share a key.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    keterangan: str
    """Who receives it and why (shown in the manifest)."""
    lingkup: Scope
    """``program``: one program's recipients; ``kabkota``: one kab/kota; ``agregat``:
    counts only."""
    program: str | None = None
    """The program of scope ``program`` (a key of ``allocation.programs``)."""
    kab: str | None = None
    """The kab/kota of scope ``kabkota``; ``None``: a template, given at run time."""
    tabel: dict[str, list[str]]
    """Table -> its columns, out of :func:`allowed_columns`."""
    secret_env: str | None = None
    """The environment variable holding the institution's pseudonym secret."""
    secret_file: str | None = None
    """A file (e.g. a mounted secret) whose stripped content is the secret (wins)."""
    dev_secret: str | None = None
    """Local development default, used when neither is set; refused by the production
    checks (``exports.strong_secrets``)."""

    @model_validator(mode="after")
    def _consistent(self) -> Institution:
        if (self.lingkup == "program") != (self.program is not None):
            raise ValueError("program is required with lingkup program, and only there")
        if self.kab is not None and (self.lingkup != "kabkota" or not _is_kab(self.kab)):
            raise ValueError(f"kab {self.kab!r}: a 4-digit kab/kota code, for lingkup kabkota")
        if not self.tabel:
            raise ValueError("tabel: no tables configured")
        for table, columns in self.tabel.items():
            allowed = allowed_columns(table)
            if not allowed:
                known = sorted({*ROWS, *AGGREGATES})
                raise ValueError(f"unknown table {table!r}; expected one of {known}")
            if self.lingkup == "agregat" and table in ROWS:
                raise ValueError(f"table {table!r} holds rows; lingkup agregat takes counts only")
            unknown = [c for c in columns if c not in allowed]
            if unknown or not columns or len(set(columns)) < len(columns):
                raise ValueError(
                    f"table {table!r}: unknown, missing or repeated columns {unknown or columns}; "
                    f"allowed: {allowed}"
                )
            if table in AGGREGATES and not set(columns) & set(AGGREGATES[table].measures):
                raise ValueError(
                    f"table {table!r}: no measure among {columns}; "
                    f"add one of {sorted(AGGREGATES[table].measures)}"
                )
        if self.lingkup != "agregat" and not (self.secret_env or self.secret_file):
            raise ValueError("secret_env or secret_file: required for row-level extracts")
        return self

    def at(self, key: str, kab: str | None) -> tuple[str, Institution]:
        """The institution's export name and its settings for one run: a kab/kota
        template takes ``kab`` (``dinsos`` -> ``dinsos_3310``), the others ignore it.

        Raises:
            BadConfigError: a key that is no plain folder name (lower case, digits, ``_``:
                the export folder is replaced whole), or a template without a valid ``kab``.
        """
        if not re.fullmatch(r"[a-z][a-z0-9_]*", key):
            raise BadConfigError(f"exports: institution {key!r}: expected [a-z][a-z0-9_]*")
        if self.lingkup != "kabkota":
            return key, self
        chosen = self.kab or kab
        if chosen is None or not _is_kab(chosen):
            raise BadConfigError(
                f"exports: {key}: a kab/kota template needs a 4-digit --kab, got {chosen!r}"
            )
        fill = {"kab": chosen}
        return f"{key}_{chosen}", self.model_copy(
            update={
                "kab": chosen,
                **{
                    f: getattr(self, f).format(**fill)
                    for f in ("secret_env", "secret_file", "dev_secret")
                    if getattr(self, f)
                },
            }
        )


def _is_kab(value: str) -> bool:
    return len(value) == 4 and value.isdigit()


def select_institutions(
    institutions: dict[str, Institution], institusi: str, kab: str | None
) -> tuple[dict[str, Institution], list[str]]:
    """The institutions one run exports (name -> settings) and the templates it skips.

    ``institusi`` is a key of ``conf/exports.yaml`` or ``all``; ``all`` without ``kab``
    skips the kab/kota templates (named in the second value) rather than failing.

    Raises:
        BadConfigError: an unknown institution, or one template without ``kab``.
    """
    if institusi != "all" and institusi not in institutions:
        raise BadConfigError(
            f"exports: unknown institution {institusi!r}; expected all or one of "
            f"{sorted(institutions)}"
        )
    keys = sorted(institutions) if institusi == "all" else [institusi]
    template = {k for k, i in institutions.items() if i.lingkup == "kabkota" and i.kab is None}
    skipped = sorted(template & set(keys)) if institusi == "all" and kab is None else []
    return dict(institutions[k].at(k, kab) for k in keys if k not in skipped), skipped


PERSON_COLUMNS = (
    "dtsen_individu_id dtsen_keluarga_id nik nama jenis_kelamin tanggal_lahir kode_wilayah "
    "status_padan hubungan"
).split()
"""What the extracts take from ``gold/individu``."""


@dataclass(frozen=True)
class ExportInputs:
    """One period of the register, as the extracts read it."""

    individu: DataFrame
    """``gold/individu``: ``dtsen_individu_id``, ``dtsen_keluarga_id``, ``nik``, ``nama``,
    ``jenis_kelamin``, ``tanggal_lahir``, ``kode_wilayah``, ``status_padan``, ``hubungan``."""
    keluarga: DataFrame
    """``gold/keluarga``: ``dtsen_keluarga_id``, ``no_kk``, ``kode_wilayah``,
    ``jumlah_anggota``, ``relasi``."""
    peringkat: DataFrame
    """The period's ``gold/peringkat``: ``dtsen_keluarga_id``, ``persentil_nasional`` and
    the three desil."""
    penerima: DataFrame
    """The period's ``gold/penerima_program``: ``program``, ``dtsen_keluarga_id``,
    ``dtsen_individu_id`` (null for a family program), ``prioritas``, ``alasan``."""


def _bases(inputs: ExportInputs) -> dict[str, DataFrame]:
    """Person, family and recipient rows with every column the catalogue derives from."""
    rank = inputs.peringkat.select("dtsen_keluarga_id", "persentil_nasional", *DESIL)
    family = inputs.keluarga.select(
        "dtsen_keluarga_id", "no_kk", "kode_wilayah", "jumlah_anggota", "relasi"
    ).join(rank, "dtsen_keluarga_id", "left")
    person = inputs.individu.select(*PERSON_COLUMNS)
    person = person.join(
        family.select("dtsen_keluarga_id", "no_kk", *DESIL), "dtsen_keluarga_id", "left"
    )
    recipient = (
        inputs.penerima.select(
            "program", "dtsen_keluarga_id", "dtsen_individu_id", "prioritas", "alasan"
        )
        .join(family.drop("jumlah_anggota", "relasi"), "dtsen_keluarga_id", "left")
        .join(person.select("dtsen_individu_id", "nik", "nama"), "dtsen_individu_id", "left")
    )
    return {"individu": person, "keluarga": family, "penerima": recipient}


def _in_scope(bases: dict[str, DataFrame], institution: Institution) -> dict[str, DataFrame]:
    """The rows an institution may see: its program's recipients (and their families and
    members), or its kab/kota's persons, families and recipients, or everything (counts)."""
    if institution.lingkup == "agregat":
        return bases
    if institution.lingkup == "kabkota":
        kab = _plain("kode_kab") == F.lit(institution.kab)
        return {table: frame.where(kab) for table, frame in bases.items()}
    recipient = bases["penerima"].where(F.col("program") == institution.program)
    families = recipient.select("dtsen_keluarga_id").distinct()
    # PKH/SEMBAKO select families (every member belongs), PBI persons (only they do).
    whole = recipient.where(F.col("dtsen_individu_id").isNull()).select("dtsen_keluarga_id")
    alone = recipient.where(F.col("dtsen_individu_id").isNotNull()).select("dtsen_individu_id")
    person = bases["individu"]
    return {
        "penerima": recipient,
        "keluarga": bases["keluarga"].join(families, "dtsen_keluarga_id", "left_semi"),
        "individu": person.join(whole.distinct(), "dtsen_keluarga_id", "left_semi").unionByName(
            person.join(alone.distinct(), "dtsen_individu_id", "left_semi")
        ),
    }


def _column(name: str, secret: str) -> Column:
    if name in KEYED:
        build, which = KEYED[name]
        return build(secret)[which].alias(name)
    return _plain(name).alias(name)


def extracts(institution: Institution, inputs: ExportInputs, secret: str) -> dict[str, DataFrame]:
    """The institution's tables: configured columns only, in configured order.

    Row tables are ordered by an HMAC of the row's DTSEN ids under ``secret`` (see the
    module docstring), count tables by their keys.

    Args:
        institution: its settings, with ``kab`` filled in for a kab/kota template
            (:meth:`Institution.at`).
        inputs: one period of the register.
        secret: the institution's own pseudonym secret (unused by count tables).
    """
    scoped = _in_scope(_bases(inputs), institution)
    out = {}
    for table, columns in institution.tabel.items():
        if table in AGGREGATES:
            aggregate = AGGREGATES[table]
            keys = [c for c in columns if c in aggregate.keys]
            measures = [
                aggregate.measures[c]().alias(c) for c in columns if c in aggregate.measures
            ]
            frame = (
                scoped[aggregate.base].groupBy(*[_plain(k).alias(k) for k in keys]).agg(*measures)
            )
            out[table] = frame.select(*columns).orderBy(*keys)
            continue
        order = [
            hmac_sha256(F.col(c), secret).alias(f"_urut{i}") for i, c in enumerate(ORDER[table])
        ]
        out[table] = (
            scoped[table]
            .select(*[_column(c, secret) for c in columns], *order)
            .orderBy(*[f"_urut{i}" for i in range(len(order))])
            .drop(*[f"_urut{i}" for i in range(len(order))])
        )
    return out


def check_secrets(secrets: dict[str, str]) -> None:
    """Refuse two institutions sharing a secret: their extracts would join on pseudonyms.

    Raises:
        BadConfigError: naming the institutions (never the secret).
    """
    owners: dict[str, list[str]] = {}
    for name, secret in secrets.items():
        owners.setdefault(secret, []).append(name)
    shared = sorted(sorted(names) for names in owners.values() if len(names) > 1)
    if shared:
        raise BadConfigError(f"exports: institutions {shared} share one pseudonym secret")
