"""Configuration loading: profiles, overrides, environment references, validation."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from dtsen.config import load_config
from dtsen.errors import BadConfigError

SECRET = "a-per-deployment-secret-0123456789abcdef"


def test_default_profile_is_the_embedded_local_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DTSEN_WAREHOUSE", raising=False)
    monkeypatch.delenv("SPARK_MASTER", raising=False)
    cfg = load_config(None)
    assert cfg.profile == "local"
    assert cfg.spark.master == "local[2]"
    assert cfg.storage.root == "warehouse"
    assert cfg.input == "data/synthetic"
    assert cfg.tracking_uri == f"sqlite:///{Path('warehouse').resolve()}/mlflow.db"
    # Scratch (checkpoints: copies of personal data) never lives inside the warehouse.
    assert cfg.scratch_root == str(Path(tempfile.gettempdir(), "dtsen-scratch"))


def test_overrides_input_and_warehouse_take_precedence(tmp_path: Path) -> None:
    cfg = load_config(
        None,
        ["generate.individuals=1234", "generate.dirt.name_typo=0.5", "spark.shuffle_partitions=3"],
        input_dir="/data/delivery-2025Q2/",
        warehouse=str(tmp_path),
    )
    assert cfg.generate.individuals == 1234
    assert cfg.generate.dirt.name_typo == 0.5
    assert cfg.spark.shuffle_partitions == 3
    assert cfg.input == "/data/delivery-2025Q2"
    assert cfg.storage.root == str(tmp_path)


def test_unknown_key_is_named() -> None:
    with pytest.raises(BadConfigError, match=r"generate\.individu: unknown key"):
        load_config(None, ["generate.individu=10"])


def test_wrong_type_is_named() -> None:
    with pytest.raises(BadConfigError, match=r"generate\.individuals: .*got 'many'"):
        load_config(None, ["generate.individuals=many"])


@pytest.fixture(autouse=True)
def _cluster_scratch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DTSEN_SCRATCH", "hdfs:///scratch/dtsen")


def test_cluster_profile_requires_the_warehouse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DTSEN_WAREHOUSE", raising=False)
    monkeypatch.setenv("DTSEN_ID_SALT", SECRET)
    with pytest.raises(BadConfigError, match="storage.root: environment variable DTSEN_WAREHOUSE"):
        load_config("conf/cluster.yaml")


def test_cluster_profile_reads_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DTSEN_WAREHOUSE", "s3a://bucket/dtsen")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000")
    monkeypatch.setenv("DTSEN_ID_SALT", SECRET)
    cfg = load_config("conf/cluster.yaml")
    assert cfg.spark.master is None
    assert cfg.storage.root == "s3a://bucket/dtsen"
    assert cfg.tracking_uri == "http://mlflow:5000"
    assert cfg.linkage.secret == SECRET
    assert cfg.scratch_root == "hdfs:///scratch/dtsen"


@pytest.mark.parametrize("secret", [None, "", "dtsen-local", "short-but-not-default"])
def test_cluster_profile_refuses_a_missing_default_or_short_secret(
    monkeypatch: pytest.MonkeyPatch, secret: str | None
) -> None:
    monkeypatch.delenv("DTSEN_ID_SALT_FILE", raising=False)
    if secret is None:
        monkeypatch.delenv("DTSEN_ID_SALT", raising=False)
    else:
        monkeypatch.setenv("DTSEN_ID_SALT", secret)
    with pytest.raises(
        BadConfigError, match="linkage: .*ID secret is missing, a default or shorter"
    ):
        load_config("conf/cluster.yaml", warehouse="hdfs:///dtsen")


def test_the_secret_can_come_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "salt").write_text(SECRET[::-1] + "\n", encoding="utf-8")
    monkeypatch.setenv("DTSEN_ID_SALT", "ignored-when-a-file-is-named")
    monkeypatch.setenv("DTSEN_ID_SALT_FILE", str(tmp_path / "salt"))
    cfg = load_config("conf/cluster.yaml", warehouse="hdfs:///dtsen")
    assert cfg.linkage_params.id_salt == SECRET[::-1]


def test_remote_warehouse_needs_a_tracking_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("DTSEN_ID_SALT", SECRET)
    cfg = load_config("conf/cluster.yaml", warehouse="hdfs:///dtsen")
    with pytest.raises(BadConfigError, match="mlflow.tracking_uri: required"):
        _ = cfg.tracking_uri


def test_missing_file_and_bad_coverage(tmp_path: Path) -> None:
    with pytest.raises(BadConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    cfg = load_config(None, ["generate.coverage.RPD=0.9"])
    with pytest.raises(BadConfigError, match="must sum to 1"):
        cfg.generate.coverage.shares()


def test_promotion_metric_and_relasi_are_checked_when_the_config_loads() -> None:
    with pytest.raises(BadConfigError, match=r"pmt\.promotion_metric: .*unknown metric 'f2'"):
        load_config(None, ["pmt.promotion_metric=f2"])
    with pytest.raises(BadConfigError, match=r"pmt\.relasi_mix: .*unknown relasi \['X'\]"):
        load_config(None, ["pmt.relasi_mix={X: 1.0}"])
    assert load_config(None, ["pmt.promotion_metric=observed_spearman"]).pmt.promotion_metric == (
        "observed_spearman"
    )
    with pytest.raises(BadConfigError, match=r"pmt\.evaluation_folds: .*greater than or equal"):
        load_config(None, ["pmt.evaluation_folds=1"])
    with pytest.raises(BadConfigError, match=r"pmt\.evaluation_repeats: .*greater than or equal"):
        load_config(None, ["pmt.evaluation_repeats=0"])


def test_every_config_file_fails_through_one_loader(tmp_path: Path) -> None:
    (tmp_path / "programs.yaml").write_text("PKH: [unclosed\n", encoding="utf-8")
    (tmp_path / "linkage.yaml").write_text("sources: {dukcapil: {table: t}}\n", encoding="utf-8")
    profile = tmp_path / "p.yaml"
    profile.write_text("profile: p\nstorage: {root: w}\n", encoding="utf-8")
    cfg = load_config(profile)
    with pytest.raises(BadConfigError, match=r"programs\.yaml: not valid YAML"):
        cfg.programs()
    with pytest.raises(BadConfigError, match=r"linkage\.yaml: .*dukcapil\.fields: required"):
        cfg.person_sources()


def test_an_empty_input_names_no_delivery(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DTSEN_INPUT", "")
    cfg = load_config(None, ["input=${DTSEN_INPUT:-}"])
    assert cfg.input is None
    with pytest.raises(BadConfigError, match="input: no delivery named: pass --input"):
        _ = cfg.delivery
