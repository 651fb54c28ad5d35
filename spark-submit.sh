#!/usr/bin/env bash
# Submit one DTSEN job to Spark: locally, on YARN, Kubernetes or a standalone cluster.
#
#   ./spark-submit.sh [--dry-run] <job> [job args...]
#
# <job> is a module jobs/<job>.py that defines main() (generate, ingest, ...); run the
# script without arguments to list them. Job args are the job's own flags, e.g.
# --conf FILE --set key=value --input DIR --warehouse DIR (see `python -m jobs.<job> -h`).
# --dry-run prints the spark-submit command (one shell-quoted line) and exits.
#
# What it does: builds the project (jobs/, dtsen/, delivery/, linkage/, ranking/ and
# conf/ with its YAML and reference data) as a wheel, rebuilt when a file changed, and
# ships it as build/dtsen-py.zip with --py-files (a plain zip where no wheel can be
# built); then runs
#   spark-submit --master M --deploy-mode D --name dtsen-<job> --py-files build/dtsen-py.zip
#     --jars <splink similarity JAR>[,<Delta JARs>] [--packages <delta-spark>] [Delta confs]
#     --conf spark.sql.session.timeZone=UTC [sizing] [SPARK_SUBMIT_EXTRA] jobs/<job>.py [args]
# spark-submit is $SPARK_HOME/bin/spark-submit, else the one pip's pyspark put in .venv,
# else spark-submit on PATH. Works from any directory; relative job args stay relative
# to the caller's directory.
#
# Environment:
#   SPARK_MASTER          master URL (default local[2]); conf/local.yaml reads it too
#   DEPLOY_MODE           client (default) or cluster
#   EXECUTOR_MEMORY       --executor-memory   (each sizing flag only when set)
#   EXECUTOR_CORES        --executor-cores
#   NUM_EXECUTORS         --num-executors
#   DRIVER_MEMORY         --driver-memory (also for local runs: the profile's
#                         spark.driver_memory has no effect under spark-submit)
#   SPARK_SUBMIT_EXTRA    further spark-submit arguments, split on whitespace (no quoting)
#   DTSEN_DELTA_JARS      delta-spark JARs: comma-separated files, or folders whose *.jar
#                         are used; added to --jars (no --packages then). Unset: the
#                         cache `make jars` fills (.cache/delta-jars), if it holds JARs;
#                         empty: none.
#   DTSEN_PACKAGE         wheel (default) or zip: how the project is shipped
#   DTSEN_DELTA_PACKAGES  without DTSEN_DELTA_JARS: auto (default) adds --packages with the
#                         delta-spark coordinates below for non-local masters only;
#                         always = also for local masters; none = never.
#                         Local runs without Delta JARs use the offline delta-rs engine
#                         (storage.engine=auto), since Maven may be unreachable.
#   SPARK_HOME            a Spark installation to submit with
# Whenever Delta JARs or packages are added, so are the Delta SQL extension and catalog.
# For local masters PYSPARK_PYTHON and PYSPARK_DRIVER_PYTHON are set to the venv's
# python; for standalone masters spark.pyspark.python is (the workers must have the
# venv at the same path; override it in SPARK_SUBMIT_EXTRA). On a cluster the executors' Python must have the project's dependencies
# (pydantic, PyYAML, splink, deltalake, ...): e.g. a container image, or
# SPARK_SUBMIT_EXTRA="--conf spark.pyspark.python=/opt/dtsen/bin/python".
#
# Cluster deploy mode (YARN and Kubernetes only: standalone masters run Python
# applications in client mode, so DEPLOY_MODE=cluster with spark:// is refused): every
# DTSEN_* and MLFLOW_* variable set here is forwarded to the remote driver
# (spark.yarn.appMasterEnv.X / spark.kubernetes.driverEnv.X); --dry-run prints the
# values of those named like secrets (SALT, SECRET, TOKEN, PASSWORD, KEY) as
# <redacted>. The driver runs on the cluster, so a profile given as
# `--conf FILE` (a local file) is shipped with --files and the job is handed
# `--conf <basename of FILE>`, where YARN (and Kubernetes, with
# spark.kubernetes.file.upload.path) place shipped files. Files the profile references
# (ingest.sources) are then found in the packaged conf/ inside the zip. Use
# conf/cluster.yaml on clusters: conf/local.yaml sets the master from SPARK_MASTER,
# which is not set in a remote driver's environment.
#
# Examples:
#   ./spark-submit.sh generate --individuals 300 --input /tmp/deliv --warehouse /tmp/wh
#   ./spark-submit.sh ingest --input /tmp/deliv --warehouse /tmp/wh
#   # YARN, driver on the cluster:
#   SPARK_MASTER=yarn DEPLOY_MODE=cluster EXECUTOR_MEMORY=8g EXECUTOR_CORES=4 \
#     NUM_EXECUTORS=20 DTSEN_WAREHOUSE=hdfs:///dtsen/warehouse \
#     ./spark-submit.sh ingest --conf conf/cluster.yaml --input hdfs:///deliveries/2025Q1
#   # Kubernetes:
#   SPARK_MASTER=k8s://https://host:443 DEPLOY_MODE=cluster \
#     SPARK_SUBMIT_EXTRA="--conf spark.kubernetes.container.image=registry/dtsen:0.1.0" \
#     ./spark-submit.sh ingest --conf conf/cluster.yaml --warehouse s3a://bucket/dtsen
#   # Standalone cluster, offline Delta JARs:
#   SPARK_MASTER=spark://host:7077 DTSEN_DELTA_JARS=/opt/delta/jars \
#     ./spark-submit.sh ingest --conf conf/cluster.yaml --warehouse /shared/dtsen
set -euo pipefail

# delta-spark's JVM artifact for the pinned pip packages: delta-spark 4.4.0 on
# pyspark 4.1 (Scala 2.13). This is what delta-spark's own pip helper
# (delta.pip_utils.configure_spark_with_delta_pip) computes; change both together
# with the pins in pyproject.toml. (4.4.1 is on PyPI but its JVM artifact is not on
# Maven Central, so the pins stay at 4.4.0.)
DELTA_VERSION="4.4.0"
DELTA_SPARK_MINOR="4.1"
DELTA_SCALA="2.13"
DELTA_PACKAGE="io.delta:delta-spark_${DELTA_SPARK_MINOR}_${DELTA_SCALA}:${DELTA_VERSION}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
ZIP="$ROOT/build/dtsen-py.zip"
PACKAGES=(jobs dtsen delivery linkage ranking conf)
CACHED_DELTA_JARS="$ROOT/.cache/delta-jars"

if [[ -x "$ROOT/.venv/bin/python" ]]; then
  VENV_PYTHON="$ROOT/.venv/bin/python"
  PYTHON="$VENV_PYTHON"
else
  VENV_PYTHON=""
  PYTHON="$(command -v python3 || true)"
  [[ -n "$PYTHON" ]] || { echo "spark-submit.sh: need $ROOT/.venv or python3" >&2; exit 1; }
fi

list_jobs() {
  local file
  for file in "$ROOT"/jobs/*.py; do
    if grep -q '^def main(' "$file"; then
      basename "$file" .py
    fi
  done
}

usage() {
  echo "usage: $(basename "$0") [--dry-run] <job> [job args...]"
  echo "jobs: $(list_jobs | tr '\n' ' ')"
}

dry_run=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dry-run) dry_run=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) break ;;
  esac
done
if [[ $# -eq 0 ]]; then
  usage >&2
  exit 2
fi
job="$1"
shift
# Not grep -q: it would stop reading early, and pipefail would then report the writer's SIGPIPE.
if ! list_jobs | grep -xF -- "$job" >/dev/null; then
  echo "spark-submit.sh: unknown job '$job'" >&2
  usage >&2
  exit 2
fi

# The project for --py-files: a wheel (pip wheel --no-deps, no network: setuptools from
# the venv), rebuilt whenever a packaged file is newer than it. It is shipped under a
# .zip name because PySpark puts only .zip/.egg/.jar py-files on the executors'
# sys.path (a pure-Python wheel is a zip). Where pip cannot build it, a plain zip of
# the same packages is shipped instead.
mkdir -p "$ROOT/build"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/pyproject.toml" | head -n 1)"
WHEEL="$ROOT/build/wheel/dtsen-$version-py3-none-any.whl"
build_wheel() {
  local fresh
  if [[ -f "$WHEEL" ]]; then
    fresh="$(find "${PACKAGES[@]/#/$ROOT/}" "$ROOT/pyproject.toml" -newer "$WHEEL" \
      -type f ! -name '*.pyc' -print -quit)"
    [[ -n "$fresh" ]] || return 0
  fi
  # setuptools copies into build/lib and never deletes there: start clean, or a module
  # deleted from the tree would still be shipped.
  rm -rf "$ROOT/build/lib" "$ROOT/build/wheel"
  # The venv's own setuptools first (no network); else pip's isolated build, which
  # fetches pyproject's build requirements from the package index once (then cached).
  { "$PYTHON" -m pip wheel --quiet --no-deps --no-build-isolation --no-index \
      --wheel-dir "$ROOT/build/wheel" "$ROOT" \
    || "$PYTHON" -m pip wheel --quiet --no-deps --wheel-dir "$ROOT/build/wheel" "$ROOT"
  } >"$ROOT/build/wheel.log" 2>&1 && [[ -f "$WHEEL" ]]
}
if [[ "${DTSEN_PACKAGE:-wheel}" == wheel ]] && build_wheel; then
  cp -f "$WHEEL" "$ZIP.tmp" && mv -f "$ZIP.tmp" "$ZIP"
  package_kind="wheel $(basename "$WHEEL")"
else
  package_kind="zip"
"$PYTHON" - "$ROOT" "$ZIP" "${PACKAGES[@]}" <<'PY'
import os
import sys
import zipfile
from pathlib import Path

root, target, packages = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
    for package in packages:
        for path in sorted((root / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                zf.write(path, path.relative_to(root).as_posix())
partial.replace(target)
PY
fi

splink_jar="$("$PYTHON" -c \
  'from splink.backends.spark import similarity_jar_location; print(similarity_jar_location())')"

if [[ -n "${SPARK_HOME:-}" ]]; then
  submit="$SPARK_HOME/bin/spark-submit"
elif [[ -x "$ROOT/.venv/bin/spark-submit" ]]; then
  submit="$ROOT/.venv/bin/spark-submit"
else
  submit="$(command -v spark-submit || true)"
  [[ -n "$submit" ]] || { echo "spark-submit.sh: no spark-submit (set SPARK_HOME)" >&2; exit 1; }
fi

master="${SPARK_MASTER:-local[2]}"
deploy_mode="${DEPLOY_MODE:-client}"
local_master=0
if [[ "$master" == local* ]]; then local_master=1; fi
if [[ "$deploy_mode" == cluster && "$master" == spark://* ]]; then
  echo "spark-submit.sh: DEPLOY_MODE=cluster is not possible on a standalone master" \
    "($master): Spark runs Python applications there in client mode only. Use" \
    "DEPLOY_MODE=client (the driver runs here), or YARN/Kubernetes for a remote driver." >&2
  exit 2
fi
# make jars' cache, unless DTSEN_DELTA_JARS is set (an empty value: no Delta JARs).
if [[ -z "${DTSEN_DELTA_JARS+set}" ]] && compgen -G "$CACHED_DELTA_JARS/*.jar" >/dev/null; then
  DTSEN_DELTA_JARS="$CACHED_DELTA_JARS"
fi

jars=("$splink_jar")
delta=0
packages=()
if [[ -n "${DTSEN_DELTA_JARS:-}" ]]; then
  IFS=',' read -r -a entries <<<"$DTSEN_DELTA_JARS"
  for entry in "${entries[@]}"; do
    [[ -n "$entry" ]] || continue
    if [[ -d "$entry" ]]; then
      for jar in "$entry"/*.jar; do
        if [[ -e "$jar" ]]; then jars+=("$jar"); fi
      done
    else
      jars+=("$entry")
    fi
  done
  delta=1
else
  case "${DTSEN_DELTA_PACKAGES:-auto}" in
    always) packages=(--packages "$DELTA_PACKAGE"); delta=1 ;;
    none) ;;
    auto)
      if [[ $local_master -eq 1 ]]; then
        echo "spark-submit.sh: local master without DTSEN_DELTA_JARS: no delta-spark" \
          "packages, the job uses delta-rs (DTSEN_DELTA_PACKAGES=always to fetch them)" >&2
      else
        packages=(--packages "$DELTA_PACKAGE")
        delta=1
      fi
      ;;
    *)
      echo "spark-submit.sh: DTSEN_DELTA_PACKAGES must be auto, always or none" >&2
      exit 2
      ;;
  esac
fi
jar_list="$(IFS=','; echo "${jars[*]}")"

cmd=("$submit" --master "$master" --deploy-mode "$deploy_mode" --name "dtsen-$job"
  --py-files "$ZIP" --jars "$jar_list")
cmd+=(${packages[@]+"${packages[@]}"})
if [[ $delta -eq 1 ]]; then
  cmd+=(--conf spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension
    --conf spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog)
fi
cmd+=(--conf spark.sql.session.timeZone=UTC)
if [[ -n "${EXECUTOR_MEMORY:-}" ]]; then cmd+=(--executor-memory "$EXECUTOR_MEMORY"); fi
if [[ -n "${EXECUTOR_CORES:-}" ]]; then cmd+=(--executor-cores "$EXECUTOR_CORES"); fi
if [[ -n "${NUM_EXECUTORS:-}" ]]; then cmd+=(--num-executors "$NUM_EXECUTORS"); fi
if [[ -n "${DRIVER_MEMORY:-}" ]]; then cmd+=(--driver-memory "$DRIVER_MEMORY"); fi

# The project's settings reach a remote driver only through Spark's confs: every
# DTSEN_* and MLFLOW_* variable of this shell but this script's own (DTSEN_DELTA_JARS,
# DTSEN_DELTA_PACKAGES, DTSEN_PACKAGE) (YARN: the application master, which
# hosts the driver; Kubernetes: the driver pod). Executors get none of them: only the
# driver reads configuration, and secrets (DTSEN_ID_SALT) should not spread further.
# In client mode (and on standalone, which is client only) the driver is this process.
forward_prefix=""
if [[ "$deploy_mode" == cluster ]]; then
  case "$master" in
    yarn*) forward_prefix="spark.yarn.appMasterEnv." ;;
    k8s://*) forward_prefix="spark.kubernetes.driverEnv." ;;
  esac
fi
secret_names=()
if [[ -n "$forward_prefix" ]]; then
  while IFS= read -r name; do
    cmd+=(--conf "$forward_prefix$name=${!name}")
    if [[ "$name" =~ (SALT|SECRET|TOKEN|PASSWORD|KEY) ]]; then secret_names+=("$name"); fi
  done < <(compgen -e | grep -E '^(DTSEN|MLFLOW)_' \
    | grep -vxE 'DTSEN_DELTA_JARS|DTSEN_DELTA_PACKAGES|DTSEN_PACKAGE' | sort)
  # Spark shows confs in its UI and event logs, redacting only names matching this.
  cmd+=(--conf 'spark.redaction.regex=(?i)secret|password|token|access[.]?key|salt')
fi

# Cluster deploy mode: ship a local profile and hand the job its basename.
job_args=("$@")
if [[ "$deploy_mode" == cluster ]]; then
  for ((i = 0; i < ${#job_args[@]}; i++)); do
    if [[ "${job_args[$i]}" == --conf=* && -f "${job_args[$i]#--conf=}" ]]; then
      cmd+=(--files "${job_args[$i]#--conf=}")
      job_args[$i]="--conf=$(basename "${job_args[$i]#--conf=}")"
    elif [[ "${job_args[$i]}" == --conf && $((i + 1)) -lt ${#job_args[@]} \
      && -f "${job_args[$((i + 1))]}" ]]; then
      i=$((i + 1))
      cmd+=(--files "${job_args[$i]}")
      job_args[$i]="$(basename "${job_args[$i]}")"
    fi
  done
fi

if [[ "$master" == spark://* && -n "$VENV_PYTHON" ]]; then
  # The interpreter of the driver and the executors' Python workers (executorEnv's
  # PYSPARK_PYTHON would not choose it: the driver ships its choice with every task).
  cmd+=(--conf "spark.pyspark.python=$VENV_PYTHON")
fi
if [[ -n "${SPARK_SUBMIT_EXTRA:-}" ]]; then
  read -r -a extra <<<"$SPARK_SUBMIT_EXTRA"
  cmd+=("${extra[@]}")
fi
cmd+=("$ROOT/jobs/$job.py" ${job_args[@]+"${job_args[@]}"})

env_vars=()
if [[ $local_master -eq 1 && -n "$VENV_PYTHON" ]]; then
  # Local workers must run the driver's interpreter, whatever is first on PATH.
  env_vars=("PYSPARK_PYTHON=$VENV_PYTHON" "PYSPARK_DRIVER_PYTHON=$VENV_PYTHON")
fi

# One word as the shell reads it back: bare when safe, else in single quotes.
quote() {
  if [[ "$1" =~ ^[A-Za-z0-9_@%+=:,./-]+$ ]]; then
    printf '%s' "$1"
  else
    printf "'%s'" "${1//\'/\'\\\'\'}"
  fi
}

if [[ $dry_run -eq 1 ]]; then
  line=""
  for word in ${env_vars[@]+"${env_vars[@]}"} "${cmd[@]}"; do
    # Never print a secret: its value is shown as <redacted>.
    for name in ${secret_names[@]+"${secret_names[@]}"}; do
      if [[ "$word" == *".$name="* ]]; then word="${word%%=*}=<redacted>"; fi
    done
    line+="$(quote "$word") "
  done
  echo "${line% }"
  exit 0
fi
echo "spark-submit.sh: dtsen-$job on $master ($deploy_mode), project shipped as $package_kind" >&2
for assignment in ${env_vars[@]+"${env_vars[@]}"}; do
  export "${assignment?}"
done
exec "${cmd[@]}"
