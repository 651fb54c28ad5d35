"""Delete the files no Delta version references, in every table of a warehouse.

    python -m dtsen.storage.cleanup [--conf FILE] [--warehouse DIR] [--table LAYER/NAME]...
        [--older-than-hours 24] [--dry-run]

What a killed driver or a write that lost a commit race leaves in a table's folder:
Parquet files no reader ever sees (reads follow the Delta log) but that hold personal
data. Files younger than ``--older-than-hours`` are kept, because a write still running
has not committed its files yet: keep it above the longest stage's run time. Every
version in the log stays readable. Needs no Spark: the log is read with delta-rs.
Prints one line per table: its name and how many files were (or would be) removed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

import pyarrow.fs as pafs

from dtsen import cli
from dtsen.storage import normalise_root, table_path
from dtsen.storage.delta_rs import _filesystem
from dtsen.storage.orphans import LOG_FOLDER, remove_orphans

log = logging.getLogger("dtsen.cleanup")


def warehouse_tables(root: str) -> list[str]:
    """Every ``<layer>/<name>`` under ``root`` that holds a Delta log."""
    fs, base = _filesystem(root)
    tables = []
    for layer in fs.get_file_info(pafs.FileSelector(base)):
        if layer.type != pafs.FileType.Directory:
            continue
        for table in fs.get_file_info(pafs.FileSelector(layer.path)):
            if fs.get_file_info(f"{table.path}/{LOG_FOLDER}").type == pafs.FileType.Directory:
                tables.append(table.path[len(base) + 1 :])
    return sorted(tables)


def main(argv: Sequence[str] | None = None) -> dict[str, list[str]]:
    """Remove (or list, with ``--dry-run``) each table's unreferenced files."""
    p = cli.parser(__doc__.splitlines()[0])
    p.add_argument("--table", action="append", default=[], help="only this table (repeatable)")
    p.add_argument("--older-than-hours", type=float, default=24.0)
    p.add_argument("--dry-run", action="store_true", help="list, delete nothing")
    args = p.parse_args(argv)
    cfg = cli.config_from(args)
    root = normalise_root(cfg.storage.root)
    older_than = timedelta(hours=args.older_than_hours)
    removed = {
        table: remove_orphans(table_path(root, table), older_than, dry_run=args.dry_run)
        for table in args.table or warehouse_tables(root)
    }
    verb = "would remove" if args.dry_run else "removed"
    for table, files in removed.items():
        print(f"{table}\t{verb} {len(files)} files")
    log.info(
        "cleanup of %s: %d tables, %d files %s",
        root,
        len(removed),
        sum(map(len, removed.values())),
        verb,
    )
    return removed


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
