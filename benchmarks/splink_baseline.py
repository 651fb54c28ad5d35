"""A plain Splink 5 linkage of a delivery's persons: the baseline the project's link is timed by.

    python benchmarks/splink_baseline.py --backend duckdb --delivery DIR --out DIR
    python benchmarks/splink_baseline.py --backend spark --delivery DIR --out DIR

What a competent Splink user would write for this delivery, and nothing of the project's
own method: every record of the four person sources (Dukcapil, Regsosek, P3KE, DTKS) goes
through one probabilistic model; there is no deterministic NIK pass, no Dukcapil anchor,
no family model. It is the kind of baseline measured in ``shared/reference/anchors.md``
(comparisons on name, birth date, sex, NIK, KK and region; blocking on NIK / birth date +
kab / name + desa / KK; u by random sampling, m by EM), with that note's lessons applied
the way a careful user would after reading Splink's docs: birth dates handed over as
DATE, NIK compared exactly with its u fixed (random sampling almost never draws two
records with one NIK), KK and region nested in one comparison so a household is not
counted twice, EM blocked on tight keys.

The delivery is read and standardised with DuckDB on both backends (the same SQL, so both
models see the same records; it is a few seconds of the run, timed as ``prepare``): names
upper-cased without punctuation or titles, dates parsed from each source's format, NIK,
KK and region codes kept only when they have the right number of digits, addresses with
Jl./Gg./Dsn. spelt out and RT/RW removed. Families are then the connected components of
source families (a source's family key, Dukcapil's KK) whose members share a person
cluster, found with Splink's own clustering on the same backend: the "shared-member rule"
of the anchors note.

The run writes ``persons.parquet`` (``sumber``, ``id_record``, ``cluster_id``),
``families.parquet`` (``sumber``, ``id_keluarga``, ``cluster_id``), ``records.parquet``
(the standardised input, for counting comparisons afterwards), ``model.json`` and
``figures.json`` (records, seconds per step, untrained levels) into ``--out``. Scoring
against ``_truth/`` is the caller's job (``linkage_side_by_side.py``), outside the
measured run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger("benchmarks.splink_baseline")

THRESHOLD = 0.95
"""Pairs at or above this match probability are one person (the project's default
``linkage.match_threshold``, so both sides cut at the same place)."""

U_MAX_PAIRS = 5e6
"""Random pairs for u: the anchors baseline's figure. NIK's exact-match u is fixed
instead of sampled (see :func:`comparisons`)."""

SEED = 42

TITLES = r"\b(H|HJ|DRS|DRA|DR|IR|PROF|SPD|SPDI|SH|SE|ST|SKM|SKOM|SSOS|SAG|SIP|MPD|MM|AMD)\b"
"""Titles dropped from names once their dots are removed (``S.Pd.`` -> ``SPD``)."""

# Each source's person records in one shape: (key, family key, NIK, KK, name, birth date,
# sex as text, region, address); a date in the source's own format, or a bare year.
# Family fields come from the family table where the source has one (one row per family
# key: duplicated family rows must not fan out).
_SOURCES = """
select 'dukcapil' as sumber, NIK as id_record, NO_KK as id_keluarga, NIK as nik,
       NO_KK as no_kk, NAMA_LGKP as nama, try_cast(TGL_LHR as date) as tgl_lahir,
       cast(JENIS_KLMIN as varchar) as jk, KODE_WILAYAH as kw,
       ALAMAT as alamat
from {dukcapil}
union all
select 'regsosek', i.id_individu, i.id_keluarga, i.nik, k.no_kk, i.nama,
       parse_date(i.tanggal_lahir, '%Y-%m-%d'), i.jenis_kelamin, k.kode_wilayah, k.alamat
from {regsosek_individu} i left join (
    select id_keluarga, min(no_kk) as no_kk, min(kode_wilayah) as kode_wilayah,
           min(alamat) as alamat
    from {regsosek_keluarga} group by id_keluarga
) k using (id_keluarga)
union all
select 'p3ke', i.id_individu_p3ke, i.id_keluarga_p3ke, i.nik, k.no_kk, i.nama_lengkap,
       parse_date(i.tanggal_lahir, '%d/%m/%Y'), i.jenis_kelamin, k.kode_wilayah, k.alamat
from {p3ke_individu} i left join (
    select id_keluarga_p3ke, min(no_kk) as no_kk, min(kode_wilayah) as kode_wilayah,
           min(alamat) as alamat
    from {p3ke_keluarga} group by id_keluarga_p3ke
) k using (id_keluarga_p3ke)
union all
select 'dtks', ID_DTKS, ID_KELUARGA, NIK, NOKK, NAMA, parse_date(TGL_LAHIR, '%d-%m-%Y'),
       JNS_KEL, KODE_WILAYAH, ALAMAT
from {dtks}
"""

_PARSE_DATE = """
create macro parse_date(s, f) as
    cast(coalesce(try_strptime(trim(s), f), try_strptime(trim(s), '%Y')) as date)
"""
"""A date in one source's format, or a bare year (read as 1 January, as sources mean it)."""

# Minimal standardisation, as a plain Splink user would write it. A duplicated key
# (duplicated rows in a source) keeps one row, chosen by its values so reruns agree.
_STANDARDISED = r"""
with raw as ({sources}),
std as (
    select
        sumber || '|' || id_record as unique_id,
        sumber,
        id_record,
        case when id_keluarga is not null then sumber || '|' || id_keluarga end as keluarga,
        id_keluarga,
        case when regexp_full_match(trim(nik), '[0-9]{{16}}') then trim(nik) end as nik,
        case when regexp_full_match(trim(no_kk), '[0-9]{{16}}') then trim(no_kk) end as no_kk,
        nullif(trim(regexp_replace(regexp_replace(regexp_replace(
            replace(upper(nama), '.', ''), '[^A-Z ]', ' ', 'g'),
            '{titles}', ' ', 'g'), '\s+', ' ', 'g')), '') as nama,
        tgl_lahir,
        case when upper(trim(jk)) in ('1', 'L', 'LAKI-LAKI') then 1
             when upper(trim(jk)) in ('2', 'P', 'PEREMPUAN') then 2 end as jenis_kelamin,
        case when regexp_full_match(trim(kw), '[0-9]{{10}}') then trim(kw) end as kode_wilayah,
        nullif(trim(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
            regexp_replace(upper(alamat), '\bR[TW]\s*[./:]?\s*[0-9]+(\s*/\s*[0-9]+)?', ' ', 'g'),
            '\b(JLN|JL)\b\.?', 'JALAN ', 'g'), '\bGG\b\.?', 'GANG ', 'g'),
            '\bDSN\b\.?', 'DUSUN ', 'g'), '[^A-Z0-9 ]', ' ', 'g'), '\s+', ' ', 'g')), '')
            as alamat
    from raw
    where id_record is not null
)
select *, left(kode_wilayah, 4) as kode_kab, left(kode_wilayah, 7) as kode_kec
from std
qualify row_number() over (
    partition by unique_id
    order by nama, tgl_lahir, nik, no_kk, kode_wilayah, alamat, jenis_kelamin, id_keluarga
) = 1
"""


def _table(delivery: Path, path: str, fmt: str, delimiter: str = ",") -> str:
    """A DuckDB read of one delivered table: ``<path>.<fmt>`` or a folder of part files.

    Every CSV column is read as text and malformed lines are skipped: the baseline parses
    what it needs itself, as a plain user reading these extracts would.
    """
    single = delivery / f"{path}.{fmt}"
    files = str(single) if single.exists() else str(delivery / path / f"*.{fmt}")
    if fmt == "parquet":
        return f"read_parquet('{files}')"
    return (
        f"read_csv('{files}', header = true, all_varchar = true, delim = '{delimiter}', "
        "quote = '\"', ignore_errors = true, null_padding = true)"
    )


def prepare(delivery: Path, out: Path) -> Path:
    """Read and standardise the four person sources into ``out/records.parquet``."""
    import duckdb

    tables = {
        "dukcapil": _table(delivery, "dukcapil/penduduk", "parquet"),
        "regsosek_individu": _table(delivery, "regsosek/individu", "csv"),
        "regsosek_keluarga": _table(delivery, "regsosek/keluarga", "csv"),
        "p3ke_individu": _table(delivery, "p3ke/individu", "csv"),
        "p3ke_keluarga": _table(delivery, "p3ke/keluarga", "csv"),
        "dtks": _table(delivery, "dtks/dtks", "csv", ";"),
    }
    target = out / "records.parquet"
    with duckdb.connect() as con:
        con.execute(_PARSE_DATE)
        query = _STANDARDISED.format(sources=_SOURCES.format(**tables), titles=TITLES)
        con.execute(f"copy ({query}) to '{target}' (format parquet)")
    return target


def blocking_rules() -> list:
    """The prediction blocking rules of the anchors baseline: NIK / birth date + kab /
    name + desa / KK."""
    from splink import block_on

    return [
        block_on("nik"),
        block_on("tgl_lahir", "kode_kab"),
        block_on("nama", "kode_wilayah"),
        block_on("no_kk"),
    ]


def comparisons(records: int) -> list:
    """Name, birth date, sex, NIK and one nested household comparison.

    NIK is exact only (a NIK one digit off is usually another person) and its u is fixed
    at 1 / records: the chance that two random records share a NIK, which random
    sampling cannot estimate at these sizes. KK, address and region are levels of one
    comparison (same KK, else same desa and address, else desa, kecamatan, kab), so one
    household is one piece of evidence, not two.
    """
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    household = cl.CustomComparison(
        output_column_name="rumah_tangga",
        comparison_levels=[
            cll.And(cll.NullLevel("no_kk"), cll.NullLevel("kode_wilayah")).configure(
                is_null_level=True
            ),
            cll.ExactMatchLevel("no_kk"),
            cll.And(cll.ExactMatchLevel("kode_wilayah"), cll.ExactMatchLevel("alamat")),
            cll.ExactMatchLevel("kode_wilayah"),
            cll.ExactMatchLevel("kode_kec"),
            cll.ExactMatchLevel("kode_kab"),
            cll.ElseLevel(),
        ],
    )
    nik = cl.CustomComparison(
        output_column_name="nik",
        comparison_levels=[
            cll.NullLevel("nik"),
            cll.ExactMatchLevel("nik").configure(
                u_probability=1 / max(records, 2), fix_u_probability=True
            ),
            cll.ElseLevel(),
        ],
    )
    return [
        cl.NameComparison("nama").configure(term_frequency_adjustments=True),
        cl.DateOfBirthComparison("tgl_lahir", input_is_string=False),
        cl.ExactMatch("jenis_kelamin"),
        nik,
        household,
    ]


def settings(records: int):
    """The model's settings: a dedupe over all records of all sources."""
    from splink import SettingsCreator

    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=comparisons(records),
        blocking_rules_to_generate_predictions=blocking_rules(),
        retain_matching_columns=False,
        additional_columns_to_retain=["sumber", "id_record", "keluarga", "id_keluarga"],
    )


def train(linker) -> list[str]:
    """Prior from deterministic rules, u by random sampling, m by EM on two tight keys.

    Returns the EM rules skipped because they yielded no pairs (tiny deliveries only).
    """
    from splink import block_on
    from splink.internals.exceptions import EMTrainingException

    linker.training.estimate_probability_two_random_records_match(
        [block_on("nik", "tgl_lahir"), block_on("nama", "tgl_lahir", "kode_wilayah")],
        recall=0.8,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=U_MAX_PAIRS, seed=SEED)
    skipped = []
    # NIK trains name, birth date, sex and household; name + birth date trains NIK.
    for rule in (block_on("nik"), block_on("nama", "tgl_lahir")):
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(rule)
        except EMTrainingException:
            skipped.append(rule.get_blocking_rule(linker._sql_dialect_str).blocking_rule_sql)
    return skipped


def untrained_levels(model: dict) -> list[str]:
    """Non-null levels the saved model has no trained m or u for (they run on defaults)."""
    return [
        f"{c['output_column_name']}: {level.get('label_for_charts', level['sql_condition'])}"
        for c in model["comparisons"]
        for level in c["comparison_levels"]
        if not level.get("is_null_level")
        and not ("m_probability" in level and "u_probability" in level)
    ]


# Families: every source family joined to the smallest family key of each person cluster
# its members are in; the connected components of these edges are the families.
_FAMILY_EDGES = """
select distinct keluarga as keluarga_l, root as keluarga_r from (
    select keluarga, min(keluarga) over (partition by cluster_id) as root
    from {clusters} where keluarga is not null
) where keluarga <> root
"""
_FAMILY_NODES = """
select keluarga, min(sumber) as sumber, min(id_keluarga) as id_keluarga
from {clusters} where keluarga is not null group by keluarga
"""


class Steps:
    """Seconds per named step, for the figures file."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def step(self, name: str):
        started = time.monotonic()
        yield
        self.seconds[name] = round(time.monotonic() - started, 1)
        log.info("%s: %.1f s", name, self.seconds[name])


def link(db_api, records, n_records: int, out: Path, steps: Steps) -> dict[str, Any]:
    """Train, predict, cluster persons and families on ``db_api``; write the clusters.

    Args:
        db_api: a Splink DuckDBAPI or SparkAPI.
        records: the standardised records in that backend's native form.
        n_records: their count (fixes NIK's u).
    """
    from splink import Linker
    from splink.clustering import cluster_pairwise_predictions_at_threshold

    sdf = db_api.register(records, dataset_display_name="persons")
    linker = Linker(sdf, settings(n_records))
    with steps.step("train"):
        skipped = train(linker)
    model = linker.misc.save_model_to_json(str(out / "model.json"), overwrite=True)
    with steps.step("predict"):
        predictions = linker.inference.predict(threshold_match_probability=THRESHOLD)
    with steps.step("cluster"):
        persons = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=THRESHOLD
        )
        name = persons.physical_name
        nodes = db_api.query_sql(_FAMILY_NODES.format(clusters=name))
        families = cluster_pairwise_predictions_at_threshold(
            nodes,
            db_api.query_sql(_FAMILY_EDGES.format(clusters=name)),
            db_api,
            node_id_column_name="keluarga",
        )
    with steps.step("write"):
        db_api.query_sql(f"select sumber, id_record, cluster_id from {name}").to_parquet(
            str(out / "persons.parquet"), overwrite=True
        )
        db_api.query_sql(
            f"select n.sumber, n.id_keluarga, f.cluster_id from {families.physical_name} f "
            f"join {nodes.physical_name} n on f.keluarga = n.keluarga"
        ).to_parquet(str(out / "families.parquet"), overwrite=True)
    return {"em_rules_skipped": skipped, "untrained_levels": untrained_levels(model)}


def _duckdb(records_path: Path, out: Path, steps: Steps) -> tuple[dict, int]:
    import duckdb
    from splink import DuckDBAPI

    con = duckdb.connect()
    relation = con.read_parquet(str(records_path))
    n = relation.aggregate("count(*)").fetchall()[0][0]
    return link(DuckDBAPI(connection=con), relation, n, out, steps), n


def _spark(records_path: Path, out: Path, steps: Steps, driver_memory: str) -> tuple[dict, int]:
    from pyspark.sql import SparkSession
    from splink import SparkAPI
    from splink.backends.spark import similarity_jar_location

    cores = os.cpu_count() or 2
    spark = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName("splink-baseline")
        .config("spark.jars", similarity_jar_location())
        .config("spark.driver.memory", driver_memory)
        # Splink's "Optimising Spark" guide: about five shuffle partitions per core.
        .config("spark.sql.shuffle.partitions", str(5 * cores))
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    # Splink breaks lineage by writing every intermediate table here.
    checkpoints = out / "spark-checkpoints"
    spark.sparkContext.setCheckpointDir(str(checkpoints))
    try:
        frame = spark.read.parquet(str(records_path))
        n = frame.count()
        return link(SparkAPI(spark_session=spark), frame, n, out, steps), n
    finally:
        spark.stop()
        shutil.rmtree(checkpoints, ignore_errors=True)


def run(backend: str, delivery: Path, out: Path, driver_memory: str = "8g") -> dict[str, Any]:
    """Prepare, link and write; returns the figures also written to ``figures.json``."""
    out.mkdir(parents=True, exist_ok=True)
    steps = Steps()
    with steps.step("prepare"):
        records_path = prepare(delivery, out)
    if backend == "duckdb":
        extra, n = _duckdb(records_path, out, steps)
    else:
        extra, n = _spark(records_path, out, steps, driver_memory)
    figures = {"backend": backend, "records": n, "steps": steps.seconds, **extra}
    (out / "figures.json").write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("duckdb", "spark"), required=True)
    parser.add_argument("--delivery", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--driver-memory", default="8g", help="Spark only")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    figures = run(args.backend, args.delivery, args.out, args.driver_memory)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
