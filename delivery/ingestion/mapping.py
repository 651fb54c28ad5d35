"""Typed source mappings, as in ``conf/sources/*.yaml`` (loaded by ``Config.source_mapping``).

A mapping says, per delivered table, where it is, how to parse it and what every
column must satisfy. Validation code is generic; each source's habits live here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pyspark.sql import types as T

_SPARK_TYPES: dict[str, T.DataType] = {
    "string": T.StringType(),
    "int": T.IntegerType(),
    "long": T.LongType(),
    "double": T.DoubleType(),
    "date": T.DateType(),
}


class ColumnSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["string", "int", "long", "double", "date"]
    required: bool = True
    nullable: bool = True
    codes: list[Any] | dict[str, Any] | None = None
    range: tuple[float, float] | None = None
    pattern: str | None = None
    formats: list[str] = Field(default_factory=lambda: ["yyyy-MM-dd"])
    year_only: bool = False

    @property
    def spark_type(self) -> T.DataType:
        return _SPARK_TYPES[self.type]

    @property
    def allowed(self) -> list[str] | None:
        """Allowed delivered values, as text (what the file holds)."""
        if self.codes is None:
            return None
        values = self.codes.keys() if isinstance(self.codes, dict) else self.codes
        return [str(v) for v in values]


class TableSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    format: Literal["csv", "parquet"]
    delimiter: str = ","
    key: list[str] = Field(default_factory=list)
    columns: dict[str, ColumnSpec]

    @model_validator(mode="after")
    def _keys_are_columns(self) -> TableSpec:
        missing = [k for k in self.key if k not in self.columns]
        if missing:
            raise ValueError(f"key columns {missing} are not among the columns")
        return self

    @property
    def source(self) -> str:
        return self.path.split("/", 1)[0]

    def bronze_schema(self) -> T.StructType:
        """Columns as delivered, typed; the ingest columns are added by the writer."""
        return T.StructType([T.StructField(n, c.spark_type, True) for n, c in self.columns.items()])


class Extends(BaseModel):
    """Tables a mapping takes unchanged from another mapping file, by name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mapping: str
    """The other mapping, relative like ``ingest.sources`` (beside the profile, or ``conf/``)."""
    tables: list[str]


class SourceMapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    extends: Extends | None = None
    """A delivery that re-delivers another's tables names them here instead of copying them."""
    codes: dict[str, Any] = Field(default_factory=dict)
    """Shared code lists (YAML anchors); not used directly."""
    tables: dict[str, TableSpec]

    def extended(self, base: SourceMapping) -> SourceMapping:
        """This mapping with the tables it ``extends`` taken from ``base`` (listed first).

        Raises:
            ValueError: ``base`` lacks a named table, or this mapping defines it again.
        """
        if self.extends is None:
            return self
        named = self.extends.tables
        unknown = [t for t in named if t not in base.tables]
        if unknown:
            raise ValueError(
                f"extends {self.extends.mapping}: no table {unknown} there "
                f"(it has: {', '.join(base.tables)})"
            )
        again = [t for t in named if t in self.tables]
        if again:
            raise ValueError(f"extends {self.extends.mapping}: {again} defined here too")
        tables = {name: base.tables[name] for name in named} | dict(self.tables)
        return self.model_copy(update={"extends": None, "tables": tables})
