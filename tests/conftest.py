"""One session-scoped SparkSession for the whole suite, tuned for tiny data.

Built through the project's own builder (``jobs.session``) so tests exercise the same
settings as the jobs: local[2], 2 shuffle partitions, UI off, UTC, warehouse and
checkpoints under pytest's temporary folder.
"""

from __future__ import annotations

import pytest

from jobs.config import Config, load_config
from jobs.session import build_session


@pytest.fixture(scope="session")
def test_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    root = tmp_path_factory.mktemp("warehouse")
    return load_config(
        None,
        [
            "spark.master=local[2]",
            "spark.shuffle_partitions=2",
            "spark.driver_memory=4g",
            "spark.extra={spark.ui.enabled: 'false', spark.sql.adaptive.enabled: 'true',"
            " spark.default.parallelism: '2'}",
        ],
        warehouse=str(root),
        input_dir=str(tmp_path_factory.mktemp("delivery")),
    )


@pytest.fixture(scope="session")
def spark(test_config: Config):
    session = build_session(test_config)
    yield session
    session.stop()
