"""The Cek DTSEN lookup as a Delta table, and its point read without Spark.

``publish/cek`` holds one period's lookup (:func:`publish.lookup.lookup_rows`),
partitioned by ``bucket`` (the key's first hex digits), each bucket one file sorted by
``kunci``. Every build replaces the whole table in one commit:

- a citizen asks about the register as it stands, so only the latest period is served,
  and a reader needs no "which period" step before its point read;
- a period's answers stay reachable by Delta time travel (the version the build wrote is
  in ``meta/runs``), without keeping every period's personal answers live;
- a reader sees the previous period's lookup or the new one, never half of each.

The read (:class:`LookupStore`) is delta-rs and pyarrow only: the Delta log gives the
file list once, a partition filter on ``bucket`` keeps one file, and a filter on
``kunci`` reads the row group whose statistics can hold the key. No JVM, no Spark
session: a question takes milliseconds.
"""

from __future__ import annotations

from typing import Any

import pyarrow.dataset as ds
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError
from pyspark.sql import DataFrame

from dtsen.errors import StorageError
from dtsen.storage import Storage, normalise_root, table_path
from publish.lookup import BUCKET_DIGITS, bucket_of

__all__ = ["TABLE", "LookupStore", "write_lookup"]

TABLE = "publish/cek"
BLOCK_SIZE = "parquet.block.size"
"""Parquet's row-group size in bytes (a session setting reaches the writer's Hadoop conf)."""
ROW_GROUP_BYTES = 1 << 20
"""1 MiB row groups: a point read decodes the one group whose key statistics can hold
the key (a few hundred answers), not the bucket's whole file (Parquet's default is
128 MiB, a whole bucket up to about 60,000 answers)."""
ANSWER_COLUMNS = ["kunci_kk", "anggota_ke", "jawaban"]


def write_lookup(storage: Storage, rows: DataFrame) -> int:
    """Replace ``publish/cek`` with ``rows`` in one commit; return the table version.

    One task per bucket, rows sorted by key within it, so each bucket is one file whose
    row groups cover disjoint key ranges (what makes the key filter skip them).
    """
    buckets = 16**BUCKET_DIGITS
    ordered = rows.repartition(buckets, "bucket").sortWithinPartitions("bucket", "kunci")
    conf = storage.spark.conf
    previous = conf.get(BLOCK_SIZE, None)
    conf.set(BLOCK_SIZE, str(ROW_GROUP_BYTES))
    try:
        return storage.write(ordered, TABLE, partition_by=["bucket"])
    finally:
        if previous is None:
            conf.unset(BLOCK_SIZE)
        else:
            conf.set(BLOCK_SIZE, previous)


class LookupStore:
    """Point reads of ``publish/cek`` under a warehouse root, with delta-rs."""

    def __init__(self, root: str, version: int | None = None) -> None:
        """Open the table's log once (latest version, or ``version``).

        Raises:
            StorageError: there is no lookup table (``jobs.cek --bangun`` has not run).
        """
        self.path = table_path(normalise_root(root), TABLE)
        try:
            table = DeltaTable(self.path, version=version)
        except TableNotFoundError as exc:
            raise StorageError(
                f"{TABLE}: no lookup at {self.path}; build it first (python -m jobs.cek --bangun)"
            ) from exc
        self.version = table.version()
        self._dataset = table.to_pyarrow_dataset()

    def find(self, kunci: str) -> dict[str, Any] | None:
        """The row of ``kunci`` (``kunci_kk``, ``anggota_ke``, ``jawaban``), or ``None``."""
        wanted = (ds.field("bucket") == bucket_of(kunci)) & (ds.field("kunci") == kunci)
        rows = self._dataset.to_table(filter=wanted, columns=ANSWER_COLUMNS).to_pylist()
        return rows[0] if rows else None
