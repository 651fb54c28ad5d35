"""Parse and validate delivered records; every row ends accepted or quarantined.

Pure DataFrame transforms. CSV tables arrive as raw text lines (so the original line
can be kept in quarantine's ``_raw``), Parquet tables as typed records (their ``_raw``
is the record as JSON). Both are brought to one shape: ``_raw``, ``_source_file``,
``_utf8_ok`` and ``_fields_ok`` (valid UTF-8; as many fields as the header) and one
string column per delivered column; :func:`validate` then types every column and
gives each row either no ``_reason`` or the first structural reason it fails
(``CODE[:column]``), and nulls, with a note in ``_invalid``, any other bad value.
"""

from __future__ import annotations

import re
from datetime import date

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from delivery.ingestion.mapping import ColumnSpec, TableSpec

QUARANTINE_SCHEMA = T.StructType(
    [
        T.StructField("_raw", T.StringType(), True),
        T.StructField("_reason", T.StringType(), True),
        T.StructField("_source_file", T.StringType(), True),
        T.StructField("_ingest_batch", T.StringType(), True),
    ]
)
EARLIEST_DATE = date(1900, 1, 1)
_QUOTED_FIELD = r'"(?:[^"]|"")*"'


def _odd_quotes(value: Column) -> Column:
    return ((F.length(value) - F.length(F.regexp_replace(value, '"', ""))) % 2) == 1


def has_open_quotes(lines: DataFrame) -> bool:
    """Whether any line leaves a quoted field open (an odd number of ``"``): only then
    does :func:`join_multiline` have work to do."""
    return not lines.where(_odd_quotes(F.col("value"))).isEmpty()


def _prefix_by_block(lines: DataFrame, flag: str, out: str) -> DataFrame:
    """``out``: how many lines with ``flag`` come before each line of its file.

    A prefix sum over blocks, then within each block: the window is partitioned by
    (file, block), never by the whole file, so a large file is not one task; the block
    totals are a small table (a few rows per file).
    """
    blocks = lines.groupBy("_file", "_block").agg(F.sum(F.col(flag).cast("long")).alias("_n"))
    earlier = (
        Window.partitionBy("_file").orderBy("_block").rowsBetween(Window.unboundedPreceding, -1)
    )
    offsets = blocks.select(
        "_file", "_block", F.coalesce(F.sum("_n").over(earlier), F.lit(0)).alias("_offset")
    )
    within = (
        Window.partitionBy("_file", "_block")
        .orderBy("_pos")
        .rowsBetween(Window.unboundedPreceding, -1)
    )
    return (
        lines.join(F.broadcast(offsets), ["_file", "_block"])
        .withColumn(
            out,
            F.col("_offset") + F.coalesce(F.sum(F.col(flag).cast("long")).over(within), F.lit(0)),
        )
        .drop("_offset")
    )


def join_multiline(lines: DataFrame) -> DataFrame:
    """Join the physical lines of a record whose quoted field holds a line break.

    A line starts a record when the quotes before it in its file are balanced; every
    other line continues the record before it. Lines are ordered by file, block start
    (``_block``, from ``_metadata.file_block_start``) and position within the block
    (``_pos``: a monotonically increasing id), which is the order Spark read them in.

    Args:
        lines: ``value``, ``_source_file``, ``_file``, ``_block``, ``_pos``.

    Returns:
        ``value`` (lines of one record joined with ``\\n``), ``_source_file``.
    """
    flagged = lines.withColumn("_odd", _odd_quotes(F.col("value")))
    parity = _prefix_by_block(flagged, "_odd", "_odd_before")
    starts = parity.withColumn("_start", (F.col("_odd_before") % 2) == 0)
    # The record a line belongs to: how many record starts come before it, itself included.
    numbered = _prefix_by_block(starts, "_start", "_starts_before").withColumn(
        "_record", F.col("_starts_before") + F.col("_start").cast("long")
    )
    return (
        numbered.groupBy("_file", "_record")
        .agg(
            F.concat_ws(
                "\n",
                F.transform(
                    F.array_sort(F.collect_list(F.struct("_block", "_pos", "value"))),
                    lambda x: x["value"],
                ),
            ).alias("value"),
            F.first("_source_file").alias("_source_file"),
        )
        .drop("_file", "_record")
    )


def csv_records(lines: DataFrame, header: list[str], sep: str) -> DataFrame:
    """Raw CSV lines (``value``, ``_source_file``) to one string column per header name.

    The field count is taken on the line with quoted fields removed, so a delimiter
    inside quotes is not counted; a line with too few or too many fields is caught by
    :func:`validate` instead of being silently padded or cut by the CSV parser.
    """
    schema = ", ".join(f"`c{i}` STRING" for i in range(len(header)))
    parsed = F.from_csv(
        F.col("value"),
        schema,
        {"sep": sep, "quote": '"', "escape": '"', "mode": "PERMISSIVE"},
    )
    fields = F.size(F.split(F.regexp_replace("value", _QUOTED_FIELD, ""), re.escape(sep), -1))
    # Spark's text source does not check UTF-8: flag bad bytes here, and keep the raw
    # line with them replaced by U+FFFD so quarantine holds valid text.
    return lines.select(
        F.make_valid_utf8("value").alias("_raw"),
        "_source_file",
        F.is_valid_utf8("value").alias("_utf8_ok"),
        (fields == len(header)).alias("_fields_ok"),
        *[parsed.getField(f"c{i}").alias(name) for i, name in enumerate(header)],
    )


def parquet_records(records: DataFrame, present: list[str]) -> DataFrame:
    """Typed Parquet records to the same string shape as CSV (dates as yyyy-MM-dd)."""
    return records.select(
        F.to_json(F.struct(*[F.col(c) for c in present])).alias("_raw"),
        "_source_file",
        F.lit(True).alias("_utf8_ok"),
        F.lit(True).alias("_fields_ok"),
        *[F.col(c).cast("string").alias(c) for c in present],
    )


def _typed(value: Column, spec: ColumnSpec) -> Column:
    if spec.type in ("int", "long"):
        return F.when(value.rlike(r"^[+-]?[0-9]+$"), value.try_cast(spec.type))
    if spec.type == "double":
        return F.when(
            value.rlike(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"),
            value.try_cast("double"),
        )
    if spec.type == "date":
        parsed = [F.try_to_date(value, fmt) for fmt in spec.formats]
        if spec.year_only:
            parsed.append(
                F.when(
                    value.rlike(r"^[0-9]{4}$"), F.make_date(value.cast("int"), F.lit(1), F.lit(1))
                )
            )
        return F.coalesce(*parsed)
    return value


def _failure(
    name: str, value: Column, typed: Column, spec: ColumnSpec, today: date, key: bool
) -> Column:
    """The reason code of the first check this column fails, or null."""
    checks: list[tuple[Column, str]] = []
    if key or not spec.nullable:
        checks.append((value.isNull(), "MISSING_VALUE"))
    if spec.type in ("int", "long", "double"):
        checks.append((value.isNotNull() & typed.isNull(), "NOT_A_NUMBER"))
    if spec.type == "date":
        checks.append((value.isNotNull() & typed.isNull(), "NOT_A_DATE"))
        checks.append(
            ((typed < F.lit(EARLIEST_DATE)) | (typed > F.lit(today)), "DATE_OUT_OF_RANGE")
        )
    if spec.pattern is not None:
        checks.append((~value.rlike(f"^(?:{spec.pattern})$"), "BAD_FORMAT"))
    if spec.allowed is not None:
        checks.append((~typed.cast("string").isin(spec.allowed), "CODE_OUT_OF_RANGE"))
    if spec.range is not None:
        low, high = spec.range
        checks.append(((typed < low) | (typed > high), "VALUE_OUT_OF_RANGE"))
    return F.coalesce(
        *[F.when(failed, F.lit(f"{code}:{name}")) for failed, code in checks],
        F.lit(None).cast("string"),
    )


def validate(records: DataFrame, spec: TableSpec, today: date) -> DataFrame:
    """Type every column, set ``_reason`` (null = accepted) and ``_invalid``.

    Only structural faults quarantine a row (``_reason``): bad bytes, an empty line, the
    wrong column count, a key column that is missing or fails its checks, and
    duplicates (among rows sharing a key the first by raw text is kept; a later one is
    ``DUPLICATE_ROW`` if its whole line repeats the kept one, ``DUPLICATE_KEY`` if not).
    A bad value in any other column is nulled and recorded in ``_invalid``
    (``CODE:column`` per failing column, in delivery order), so one mistyped field does
    not cost a family every other variable.
    """
    raw = F.col("_raw")
    row_reason = (
        F.when(~F.col("_utf8_ok"), F.lit("INVALID_ENCODING"))
        .when(F.trim(raw) == "", F.lit("EMPTY_LINE"))
        .when(~F.col("_fields_ok"), F.lit("COLUMN_COUNT"))
    )
    typed = {name: _typed(F.col(name), col) for name, col in spec.columns.items()}
    failures = {
        name: _failure(name, F.col(name), typed[name], col, today, name in spec.key)
        for name, col in spec.columns.items()
    }
    key_reasons = [failures[name] for name in spec.columns if name in spec.key]
    field_failures = F.filter(
        F.array(*[failures[n] for n in spec.columns if n not in spec.key]), lambda x: x.isNotNull()
    )
    out = records.select(
        "_raw",
        "_source_file",
        F.coalesce(row_reason, *key_reasons).alias("_reason"),
        F.when(row_reason.isNull(), field_failures)
        .otherwise(F.array().cast("array<string>"))
        .alias("_invalid"),
        *[
            (typed[name] if name in spec.key else F.when(failures[name].isNull(), typed[name]))
            .cast(col.spark_type)
            .alias(name)
            for name, col in spec.columns.items()
        ],
    )
    if not spec.key:
        return out
    key = F.concat_ws("\u0001", *[F.col(k).cast("string") for k in spec.key])
    group = F.when(F.col("_reason").isNull(), F.concat(F.lit("k"), key)).otherwise(
        F.concat(F.lit("q"), F.xxhash64("_raw", "_source_file").cast("string"))
    )
    # Partitioned by the key: keys are (nearly) unique, so no partition is skewed;
    # rows that already failed get a partition of their own via their hash.
    window = Window.partitionBy(group).orderBy(F.col("_reason").isNotNull(), "_raw", "_source_file")
    rank = F.row_number().over(window)
    kept = F.first("_raw").over(window)
    duplicate = F.when(
        F.col("_reason").isNull() & (rank > 1),
        F.when(raw == kept, F.lit("DUPLICATE_ROW")).otherwise(F.lit("DUPLICATE_KEY")),
    )
    return out.withColumn("_reason", F.coalesce("_reason", duplicate))


def invalid_counts(validated: DataFrame) -> DataFrame:
    """Nulled fields of accepted rows per reason code and column, most frequent first."""
    parts = F.split(F.col("invalid"), ":")
    return (
        validated.where(F.col("_reason").isNull())
        .select(F.explode("_invalid").alias("invalid"))
        .groupBy(parts[0].alias("reason"), F.try_element_at(parts, F.lit(2)).alias("column"))
        .agg(F.count(F.lit(1)).alias("fields"))
        .orderBy(F.desc("fields"), "reason", "column")
    )


def accepted(validated: DataFrame, spec: TableSpec, batch: str) -> DataFrame:
    """Bronze rows: the delivered columns, typed, plus ``_invalid`` (the fields nulled),
    ``_ingest_batch`` and ``_source_file``."""
    return validated.where(F.col("_reason").isNull()).select(
        *spec.columns, "_invalid", F.lit(batch).alias("_ingest_batch"), "_source_file"
    )


def quarantined(validated: DataFrame, batch: str) -> DataFrame:
    """Quarantine rows: the original text, the reason code, where it came from."""
    return validated.where(F.col("_reason").isNotNull()).select(
        "_raw", "_reason", "_source_file", F.lit(batch).alias("_ingest_batch")
    )
