"""Command-line plumbing shared by every job: the common flags and logging setup."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from dtsen.config import Config, load_config
from dtsen.errors import DtsenError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from dtsen.storage import Storage

log = logging.getLogger("dtsen")


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the flags every job takes."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--conf", help="YAML profile (default: the packaged conf/local.yaml)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one config value, e.g. --set generate.individuals=100000 (repeatable)",
    )
    p.add_argument("--input", help="the delivery folder or URI to read (config: input)")
    p.add_argument("--warehouse", help="the storage root, folder or URI (config: storage.root)")
    return p


def setup_logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("py4j", "pyspark", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def config_from(args: argparse.Namespace) -> Config:
    return load_config(args.conf, args.overrides, input_dir=args.input, warehouse=args.warehouse)


def run(main: Callable[[Sequence[str] | None], object], argv: Sequence[str] | None = None) -> int:
    """Run a job's ``main`` and turn the project's errors into one clear line and exit 2."""
    setup_logging()
    try:
        main(argv)
    except DtsenError as exc:
        log.error("%s: %s", type(exc).__name__, exc)
        return 2
    return 0


Flag = tuple[tuple[str, ...], dict[str, Any]]
"""A job's own flag: ``add_argument``'s positional and keyword arguments."""

_COMMON = ("conf", "overrides", "input", "warehouse")


def run_stage(
    argv: Sequence[str] | None,
    doc: str,
    stage: Callable[..., dict[str, Any]],
    report: Callable[[dict[str, Any]], str],
    flags: Sequence[Flag] = (),
) -> dict[str, Any]:
    """Every job's ``main``: flags, config, session, storage, the stage, its summary.

    The run is recorded in ``meta/runs`` (``dtsen.storage.manifest``): ``COMPLETE`` with
    every table version it read and wrote, or ``FAILED`` with the error, which is then
    raised again. Its scratch folder is removed either way.

    ``doc`` is the job's module docstring (its first line is the ``--help`` text).
    The values of the job's own ``flags`` are passed to ``stage`` as keyword arguments
    after ``(spark, cfg, storage)``; the figures it returns are printed with ``report``
    (the job's result, for the person who ran it) and returned (for tests).
    """
    from dtsen.session import build_session, remove_scratch
    from dtsen.storage import open_storage

    p = parser(doc.strip().splitlines()[0])
    for args, kwargs in flags:
        p.add_argument(*args, **kwargs)
    parsed = p.parse_args(argv)
    options = {k: v for k, v in vars(parsed).items() if k not in _COMMON}
    cfg = config_from(parsed)
    spark = build_session(cfg)
    storage = open_storage(spark, cfg)
    try:
        figures = recorded(stage, spark, cfg, storage, **options)
    finally:
        remove_scratch(spark)
    print(report(figures))
    return figures


def recorded(
    stage: Callable[..., dict[str, Any]],
    spark: SparkSession,
    cfg: Config,
    storage: Storage,
    **options: Any,
) -> dict[str, Any]:
    """``stage(spark, cfg, storage, **options)`` as one unit in ``meta/runs``.

    The manifest is named after the stage's module and notes the ``periode`` and
    ``model_uri`` of its figures; it is ``FAILED`` (and the error raised again) when the
    stage raises. Tests call this to record a run without a process of its own.
    """
    storage.begin(stage.__module__.rsplit(".", 1)[-1])
    try:
        figures = stage(spark, cfg, storage, **options)
    except BaseException as exc:
        storage.finish(exc)
        raise
    if isinstance(figures, dict):
        for key in ("periode", "model_uri"):
            if figures.get(key):
                storage.note(key, str(figures[key]))
    storage.finish()
    return figures
