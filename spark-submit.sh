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
# What it does: packages jobs/, dtsen/, delivery/, linkage/, ranking/ and conf/ (with its YAML and reference
# data) into build/dtsen-py.zip (rebuilt on every call) for --py-files, then runs
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
#                         are used; added to --jars (no --packages then)
#   DTSEN_DELTA_PACKAGES  without DTSEN_DELTA_JARS: auto (default) adds --packages with the
#                         delta-spark coordinates below for non-local masters only;
#                         always = also for local masters; none = never.
#                         Local runs without Delta JARs use the offline delta-rs engine
#                         (storage.engine=auto), since Maven may be unreachable.
#   SPARK_HOME            a Spark installation to submit with
# Whenever Delta JARs or packages are added, so are the Delta SQL extension and catalog.
# For local masters PYSPARK_PYTHON and PYSPARK_DRIVER_PYTHON are set to the venv's
# python. On a cluster the executors' Python must have the project's dependencies
# (pydantic, PyYAML, splink, deltalake, ...): e.g. a container image, or
# SPARK_SUBMIT_EXTRA="--conf spark.pyspark.python=/opt/dtsen/bin/python".
#
# Cluster deploy mode: the driver runs on the cluster, so a profile given as
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

# delta-spark's JVM artifact for the pinned pip packages: delta-spark 4.4.1 on
# pyspark 4.1 (Scala 2.13). This is what delta-spark's own pip helper
# (delta.pip_utils.configure_spark_with_delta_pip) computes; change both together
# with the pins in pyproject.toml.
DELTA_VERSION="4.4.1"
DELTA_SPARK_MINOR="4.1"
DELTA_SCALA="2.13"
DELTA_PACKAGE="io.delta:delta-spark_${DELTA_SPARK_MINOR}_${DELTA_SCALA}:${DELTA_VERSION}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
ZIP="$ROOT/build/dtsen-py.zip"
PACKAGES=(jobs dtsen delivery linkage ranking conf)

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

# The project as one zip for --py-files, rebuilt every time so it is never stale.
mkdir -p "$ROOT/build"
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
    line+="$(quote "$word") "
  done
  echo "${line% }"
  exit 0
fi
for assignment in ${env_vars[@]+"${env_vars[@]}"}; do
  export "${assignment?}"
done
exec "${cmd[@]}"
