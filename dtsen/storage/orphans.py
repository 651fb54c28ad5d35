"""Files in a table's folder that no Delta version references, and their removal.

A write puts its Parquet files into the table's folder before it commits them: delta-rs
stages them in ``<table>/write-<uuid>/``, delta-spark writes them next to the live
files. A driver killed in between (or a writer that lost a commit race) leaves files
that no version of the log names. Readers never see them (every read follows the log),
but they hold personal data and take space, so ``remove_orphans`` deletes them.

Unlike ``VACUUM``, which deletes what the *latest* version no longer references and so
ends time travel to older versions, this keeps every file any version still in the log
references. It is engine-independent: the log is read with delta-rs (``deltalake``), the
folder listed with pyarrow, so it needs no Spark session.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pyarrow.fs as pafs
from deltalake import DeltaTable

from dtsen.errors import StorageError
from dtsen.storage.delta_rs import _filesystem, log_files

log = logging.getLogger(__name__)

LOG_FOLDER = "_delta_log"


def referenced_files(path: str) -> set[str]:
    """Data files (relative, decoded) that any version still in the table's log adds."""
    if not DeltaTable.is_deltatable(path):
        raise StorageError(f"no Delta table at {path}")
    table = DeltaTable(path)
    referenced: set[str] = set()
    for entry in table.history():
        table.load_as_version(int(entry["version"]))
        referenced.update(f.path for f in log_files(table))
    return referenced


SUCCESS_MARKER = "_SUCCESS"
"""What Spark's file committer leaves in a folder it finished writing."""


def _owner(relative: str) -> str:
    """The file a Hadoop checksum belongs to: ``a/.x.parquet.crc`` -> ``a/x.parquet``."""
    folder, _, name = relative.rpartition("/")
    if name.startswith(".") and name.endswith(".crc"):
        name = name[1 : -len(".crc")]
    return f"{folder}/{name}" if folder else name


def _is_referenced(relative: str, referenced: set[str], live_folders: set[str]) -> bool:
    """A referenced data file, its checksum, or the success marker of a committed write."""
    owner = _owner(relative)
    folder, _, name = owner.rpartition("/")
    return owner in referenced or (name == SUCCESS_MARKER and folder in live_folders)


def orphan_files(path: str, older_than: timedelta) -> list[str]:
    """Files under ``path`` (relative) that no version references, last modified before
    ``now - older_than``; the log folder is never listed.

    ``older_than`` protects writes still running: their files are unreferenced until
    they commit.
    """
    referenced = referenced_files(path)
    live_folders = {
        "/".join(parts[:n])
        for parts in (relative.split("/") for relative in referenced)
        for n in range(len(parts))
    }
    fs, base = _filesystem(path)
    cutoff = datetime.now(UTC) - older_than
    infos = fs.get_file_info(pafs.FileSelector(base, recursive=True))
    orphans = []
    for info in infos:
        relative = info.path[len(base) + 1 :]
        if info.type != pafs.FileType.File or relative.split("/")[0] == LOG_FOLDER:
            continue
        if _is_referenced(relative, referenced, live_folders) or info.mtime is None:
            continue
        if info.mtime.astimezone(UTC) < cutoff:
            orphans.append(relative)
    return sorted(orphans)


def remove_orphans(path: str, older_than: timedelta, dry_run: bool = False) -> list[str]:
    """Delete ``orphan_files(path, older_than)`` and the folders they leave empty.

    Returns:
        The relative paths deleted (or, with ``dry_run``, that would be).
    """
    orphans = orphan_files(path, older_than)
    if dry_run or not orphans:
        return orphans
    fs, base = _filesystem(path)
    for relative in orphans:
        fs.delete_file(f"{base}/{relative}")
    _remove_empty_folders(fs, base, {relative.rpartition("/")[0] for relative in orphans})
    log.info("%s: removed %d unreferenced files", path, len(orphans))
    return orphans


def _remove_empty_folders(fs: pafs.FileSystem, base: str, folders: set[str]) -> None:
    """Delete the given folders (and their parents below ``base``) once empty."""
    candidates = set()
    for folder in folders:
        parts = folder.split("/") if folder else []
        candidates.update("/".join(parts[:n]) for n in range(1, len(parts) + 1))
    for folder in sorted(candidates, key=lambda f: f.count("/"), reverse=True):
        target = f"{base}/{folder}"
        info = fs.get_file_info(target)
        if info.type != pafs.FileType.Directory:
            continue
        if not fs.get_file_info(pafs.FileSelector(target)):
            fs.delete_dir(target)
