"""The canonical person record: every source's persons in one shape, standardised.

One row per source person record with ``uid`` = ``<sumber>:<id_record>``. Which columns
feed which field is configuration (``conf/linkage.yaml``), not code per source.

Each record carries ``sidik_mentah``, the fingerprint of its raw canonical row (before
standardisation): an update compares it with the register's to standardise only the
Dukcapil rows that are new or changed, not the whole extract.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from delivery.variables import MEMBER_VARIABLES
from linkage.standardise import (
    day_month_swapped,
    is_default_date,
    name_key,
    with_address,
    with_name_tokens,
)

FIELDS = (
    "id",
    "family",
    "nik",
    "kk",
    "nama",
    "jenis_kelamin",
    "tanggal_lahir",
    "hubungan",
    "kode_wilayah",
    "alamat",
    "rt",
    "rw",
    "status",
)
REQUIRED = ("id", "family", "nik", "nama", "jenis_kelamin", "tanggal_lahir")


class PersonSource(BaseModel):
    """Where a source's person fields come from (see ``conf/linkage.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    table: str
    family_table: str | None = None
    family_key: str | None = None
    fields: dict[str, str]
    sex_codes: dict[str, int]
    variables: dict[str, str] = {}
    """Member welfare variables the source holds: canonical name -> column."""

    def model_post_init(self, _context: object) -> None:
        unknown = sorted(set(self.fields) - set(FIELDS))
        missing = sorted(set(REQUIRED) - set(self.fields))
        if unknown or missing:
            raise ValueError(f"fields: unknown {unknown}, missing {missing}")
        unknown_vars = sorted(set(self.variables) - set(MEMBER_VARIABLES))
        if unknown_vars:
            raise ValueError(f"variables: unknown {unknown_vars}")
        uses_family = any(v.startswith("keluarga.") for v in self.fields.values())
        if uses_family and not (self.family_table and self.family_key):
            raise ValueError("fields use keluarga.* but family_table/family_key are not set")


def _field(spec: PersonSource, name: str) -> Column:
    source = spec.fields.get(name)
    if source is None:
        return F.lit(None)
    if source.startswith("keluarga."):
        return F.col(f"kel.{source.split('.', 1)[1]}")
    return F.col(f"ind.{source}")


def source_records(
    sumber: str, spec: PersonSource, persons: DataFrame, families: DataFrame | None
) -> DataFrame:
    """One source's persons in the raw canonical shape (before standardisation)."""
    frame = persons.alias("ind")
    if spec.family_table is not None:
        if families is None:
            raise ValueError(f"{sumber}: family table {spec.family_table} is required")
        frame = frame.join(
            families.alias("kel"),
            F.col(f"ind.{spec.family_key}") == F.col(f"kel.{spec.family_key}"),
            "left",
        )
    sex_map = F.create_map(*[F.lit(x) for k, v in spec.sex_codes.items() for x in (k, v)])
    raw = frame.select(
        F.lit(sumber).alias("sumber"),
        _field(spec, "id").cast("string").alias("id_record"),
        _field(spec, "family").cast("string").alias("id_keluarga"),
        _field(spec, "nik").cast("string").alias("nik_asli"),
        _field(spec, "kk").cast("string").alias("kk_asli"),
        _field(spec, "nama").cast("string").alias("nama_asli"),
        F.try_element_at(sex_map, _field(spec, "jenis_kelamin").cast("string"))
        .cast("int")
        .alias("jenis_kelamin"),
        _field(spec, "tanggal_lahir").cast("date").alias("tanggal_lahir"),
        _field(spec, "hubungan").cast("int").alias("hubungan"),
        _field(spec, "kode_wilayah").cast("string").alias("kode_wilayah"),
        _field(spec, "alamat").cast("string").alias("alamat_asli"),
        _field(spec, "rt").cast("int").alias("rt_kolom"),
        _field(spec, "rw").cast("int").alias("rw_kolom"),
        _field(spec, "status").cast("string").alias("status_dukcapil"),
        *[
            (F.col(f"ind.{spec.variables[v]}") if v in spec.variables else F.lit(None))
            .cast("int")
            .alias(v)
            for v in MEMBER_VARIABLES
        ],
    )
    return raw.select(
        F.concat_ws(":", "sumber", "id_record").alias("uid"),
        "*",
        fingerprint(raw.columns).alias("sidik_mentah"),
    )


def fingerprint(columns: Sequence[str]) -> Column:
    """A 64-bit hash of the named columns as JSON: a null in one field never collides
    with a value in another (``xxhash64`` over the columns themselves skips nulls)."""
    return F.xxhash64(F.to_json(F.struct(*columns)))


def standardise(records: DataFrame) -> DataFrame:
    """Add the standardised fields every later step compares and blocks on."""
    out = with_name_tokens(records, "nama_asli", "nama_token")
    out = with_address(out, "alamat_asli", "alamat")
    return (
        out.withColumn("nama", F.array_join("nama_token", " "))
        .withColumn("nama_kunci", name_key(F.col("nama_token")))
        .withColumn("nama_depan", F.element_at("nama_token", 1))
        .withColumn("tgl_default", is_default_date(F.col("tanggal_lahir")))
        .withColumn("tgl_tukar", day_month_swapped(F.col("tanggal_lahir")))
        .withColumn("tahun_lahir", F.year("tanggal_lahir"))
        .withColumn("rt", F.coalesce("rt_kolom", "alamat_rt"))
        .withColumn("rw", F.coalesce("rw_kolom", "alamat_rw"))
        .withColumn("kode_kab", F.substring("kode_wilayah", 1, 4))
        .withColumn("kode_kec", F.substring("kode_wilayah", 1, 7))
        .drop("rt_kolom", "rw_kolom", "alamat_rt", "alamat_rw")
    )
