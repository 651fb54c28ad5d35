"""Command-line plumbing shared by every job: the common flags and logging setup."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from jobs.config import Config, load_config
from jobs.errors import DtsenError

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


def run_stage(
    argv: Sequence[str] | None,
    description: str,
    stage: Callable[[Any, Config, Any], dict[str, Any]],
    report: Callable[[dict[str, Any]], str],
) -> dict[str, Any]:
    """The ``main`` of a stage that takes only the common flags: config, session,
    storage, the stage, and its figures printed as the job's result."""
    from jobs.session import build_session
    from jobs.storage import open_storage

    cfg = config_from(parser(description).parse_args(argv))
    spark = build_session(cfg)
    figures = stage(spark, cfg, open_storage(spark, cfg))
    print(report(figures))  # the job's result, for the person who ran it
    return figures
