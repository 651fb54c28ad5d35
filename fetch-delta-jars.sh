#!/usr/bin/env bash
# Fetch the delta-spark JVM jars (plus their runtime deps that pyspark does NOT ship)
# into DEST, with Maven and a throwaway pom. Idempotent. `make jars` runs it into
# .cache/delta-jars, which the tests, `make run` and spark-submit.sh then use.
#
#   fetch-delta-jars.sh DEST [VERSION]
#
# The versions must match the pins in pyproject.toml: pyspark 4.1.1 and delta-spark
# 4.4.0 give io.delta:delta-spark_4.1_2.13:4.4.0 (4.4.1 is on PyPI but not on Maven
# Central; the script then lists the versions Central has).
#
# VERSION: the io.delta release (default: $DELTA_VERSION, else the installed delta_spark
# pip package's version). The artifact is io.delta:delta-spark_<spark major.minor>_2.13,
# with <spark major.minor> from the installed pyspark (override: DELTA_SPARK_MINOR).
#
# Environment:
#   PYTHON            interpreter with pyspark (+ delta_spark) installed
#                     (default: $VIRTUAL_ENV/bin/python, else python3)
#   SPARK_JARS_DIR    jars shipped with Spark (default: $SPARK_HOME/jars, else pyspark/jars)
#   MAVEN_REPO_LOCAL  Maven local repository (default: ${XDG_CACHE_HOME:-~/.cache}/fetch-delta-jars/m2,
#                     NOT ~/.m2/repository: step 1 leaves poms without jars there, and Spark's
#                     Ivy (--packages / spark.jars.packages) looks in ~/.m2 first, finds such a
#                     pom and then fails with "download failed: ...jar" instead of going to
#                     Central. Use ~/.m2/repository only if you never use --packages.)
#   MVN               mvn executable (default: mvn)
#   FORCE=1           re-fetch even if DEST already holds this exact set
#
# How: 1) `dependency:tree` on a pom depending on delta-spark (poms only, no jars);
#      2) every compile/runtime artifact whose artifactId-<version>.jar is already in
#         Spark's jars dir (scala-library, jackson, parquet, hadoop-client-*, log4j, ...)
#         becomes an <exclusion> (its subtree is dropped too: pyspark ships those);
#      3) `dependency:copy-dependencies -DincludeScope=runtime` into a temp dir, then
#         moved into DEST. A manifest DEST/.delta-jars-<coordinate> records the set;
#         a second run with all listed files present does nothing. Jars that an earlier
#         run installed for another coordinate are removed (so DEST/*.jar is one set).
set -euo pipefail

usage() { echo "usage: $(basename "$0") DEST [VERSION]" >&2; exit 2; }
[[ $# -ge 1 && $# -le 2 ]] || usage
dest="$1"
MVN="${MVN:-mvn}"
PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

if [[ -z "${PYTHON:-}" ]]; then
  if [[ -n "${VIRTUAL_ENV:-}" && -x "$VIRTUAL_ENV/bin/python" ]]; then PYTHON="$VIRTUAL_ENV/bin/python"
  else PYTHON="$(command -v python3 || true)"; fi
fi

py() { [[ -n "$PYTHON" ]] && "$PYTHON" -c "$1" 2>/dev/null; }

# One interpreter start, no `import pyspark` (slow): versions from package metadata.
read -r pip_delta pip_spark pyspark_dir < <(py '
import importlib.metadata as m, importlib.util as u
def v(n):
    try: return m.version(n)
    except Exception: return "-"
s = u.find_spec("pyspark")
print(v("delta_spark"), v("pyspark"), s.submodule_search_locations[0] if s else "-")' || echo "- - -")

version="${2:-${DELTA_VERSION:-}}"
if [[ -z "$version" ]]; then
  version="$pip_delta"
  [[ "$version" != "-" ]] || { echo "fetch-delta-jars: give VERSION (no delta_spark in '$PYTHON')" >&2; exit 2; }
fi
spark_minor="${DELTA_SPARK_MINOR:-}"
if [[ -z "$spark_minor" && "$pip_spark" != "-" ]]; then spark_minor="$(cut -d. -f1,2 <<<"$pip_spark")"; fi
[[ -n "$spark_minor" ]] || { echo "fetch-delta-jars: set DELTA_SPARK_MINOR (no pyspark in '$PYTHON')" >&2; exit 2; }
artifact="delta-spark_${spark_minor}_2.13"
coord="io.delta:${artifact}:${version}"

jars_dir="${SPARK_JARS_DIR:-}"
if [[ -z "$jars_dir" && -n "${SPARK_HOME:-}" ]]; then jars_dir="$SPARK_HOME/jars"; fi
if [[ -z "$jars_dir" && "$pyspark_dir" != "-" ]]; then jars_dir="$pyspark_dir/jars"; fi
[[ -d "$jars_dir" ]] || { echo "fetch-delta-jars: no Spark jars dir ('$jars_dir'); set SPARK_JARS_DIR" >&2; exit 2; }

mkdir -p "$dest"
dest="$(cd "$dest" && pwd -P)"
manifest="$dest/.delta-jars-${artifact}-${version}"

# Idempotency: this exact set already there?
if [[ "${FORCE:-0}" != 1 && -s "$manifest" ]]; then
  ok=1
  while IFS= read -r f; do [[ -f "$dest/$f" ]] || { ok=0; break; }; done <"$manifest"
  if [[ $ok -eq 1 ]]; then
    echo "fetch-delta-jars: $coord already in $dest ($(wc -l <"$manifest") jars), nothing to do"
    exit 0
  fi
fi

MAVEN_REPO_LOCAL="${MAVEN_REPO_LOCAL:-${XDG_CACHE_HOME:-$HOME/.cache}/fetch-delta-jars/m2}"
mkdir -p "$MAVEN_REPO_LOCAL"
repo_args=(-B -q "-Dmaven.repo.local=$MAVEN_REPO_LOCAL")

work="$(mktemp -d "${TMPDIR:-/tmp}/fetch-delta-jars.XXXXXX")"
trap 'rm -rf "$work"' EXIT

write_pom() { # $1 = <exclusions> XML
  cat >"$work/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.throwaway</groupId><artifactId>fetch-delta-jars</artifactId><version>0</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>io.delta</groupId><artifactId>${artifact}</artifactId><version>${version}</version>
      <exclusions>$1</exclusions>
    </dependency>
  </dependencies>
</project>
EOF
}

# 1) the dependency tree (downloads poms only; -U: do not trust a cached "not found")
write_pom ""
if ! "$MVN" "${repo_args[@]}" -U -f "$work/pom.xml" "$PLUGIN:tree" -DoutputFile="$work/tree.txt" \
    >"$work/mvn-tree.log" 2>&1; then
  cat "$work/mvn-tree.log" >&2
  exit 1
fi
# dependency:tree succeeds even when the artifact does not exist: check for its pom.
if [[ ! -f "$MAVEN_REPO_LOCAL/io/delta/$artifact/$version/$artifact-$version.pom" ]]; then
  echo "fetch-delta-jars: $coord is not on Maven Central (or Central is unreachable)." >&2
  # Show which versions do exist (reads maven-metadata.xml through a version range).
  sed -i "s#<version>${version}</version>#<version>[0,)</version>#" "$work/pom.xml"
  if "$MVN" "${repo_args[@]}" -f "$work/pom.xml" "$PLUGIN:tree" -DoutputFile="$work/range.txt" \
      >/dev/null 2>&1; then
    meta="$(find "$MAVEN_REPO_LOCAL/io/delta/$artifact" -maxdepth 1 \
      -name 'maven-metadata*.xml' 2>/dev/null | head -1)"
    if [[ -n "$meta" ]]; then
      echo "fetch-delta-jars: versions of io.delta:$artifact on Central:" \
        "$(grep -o '<version>[^<]*' "$meta" | sed 's/<version>//' | tr '\n' ' ')" >&2
    fi
  fi
  echo "fetch-delta-jars: pass one of them as VERSION (or DELTA_VERSION=...)" >&2
  exit 1
fi

# 2) exclusions: artifacts that Spark's jars dir already has (any version)
exclusions=""
excluded=()
while IFS=: read -r g a _type _v _scope; do
  [[ "$g:$a" == "io.delta:$artifact" ]] && continue
  if compgen -G "$jars_dir/${a}-[0-9]*.jar" >/dev/null; then
    exclusions+="<exclusion><groupId>$g</groupId><artifactId>$a</artifactId></exclusion>"
    excluded+=("$g:$a")
  fi
done < <(grep -oE '[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+:jar:[A-Za-z0-9_.-]+:(compile|runtime)' "$work/tree.txt")
write_pom "$exclusions"

# 3) copy the remaining runtime jars
mkdir -p "$work/out"
if ! "$MVN" "${repo_args[@]}" -f "$work/pom.xml" "$PLUGIN:copy-dependencies" \
    -DincludeScope=runtime -DoutputDirectory="$work/out" -DoverWriteReleases=true \
    >"$work/mvn-copy.log" 2>&1; then
  cat "$work/mvn-copy.log" >&2
  exit 1
fi
[[ -f "$work/out/${artifact}-${version}.jar" ]] || { echo "fetch-delta-jars: no ${artifact}-${version}.jar fetched" >&2; exit 1; }

# Remove jars that an earlier run installed for another delta coordinate.
for old in "$dest"/.delta-jars-*; do
  [[ -e "$old" && "$old" != "$manifest" ]] || continue
  while IFS= read -r f; do rm -f "$dest/$f"; done <"$old"
  rm -f "$old"
done
( cd "$work/out" && ls -1 -- *.jar ) | sort >"$work/manifest"
while IFS= read -r f; do
  cp "$work/out/$f" "$dest/.$f.part" && mv -f "$dest/.$f.part" "$dest/$f"
done <"$work/manifest"
mv -f "$work/manifest" "$manifest"

echo "fetch-delta-jars: $coord -> $dest"
if [[ ${#excluded[@]} -gt 0 ]]; then
  echo "  skipped (shipped with Spark in $jars_dir): ${excluded[*]}"
fi
while IFS= read -r f; do echo "  $f"; done <"$manifest"
