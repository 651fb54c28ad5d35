# DTSEN: the two commands a new user needs are `make run` and `make test`;
# both create the virtual environment and install the project first.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
INPUT ?=
WAREHOUSE ?= warehouse
SYNTHETIC := data/synthetic
SYNTHETIC_UPDATE := data/synthetic-update
CONF ?= conf/local.yaml
INDIVIDUALS ?=

.PHONY: run test check format generate ingest link evaluate_link train_pmt rank evaluate_pmt allocate movement update cek export report mlflow-ui clean java jars cleanup wheel

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11) on PATH"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	rm -f $(VENV)/.installed-* && touch $@

java:
	@command -v java >/dev/null || { echo "need Java 17 (e.g. apt-get install openjdk-17-jre-headless)"; exit 1; }

# delta-spark's JARs for the pinned pyspark and delta-spark, fetched once with Maven into
# a git-ignored cache (fetch-delta-jars.sh; a second call with the set complete does
# nothing). Without Maven the target says why, leaves the reason in
# $(DELTA_JARS)/UNAVAILABLE (the tests print it when they skip the delta-spark leg) and
# succeeds: everything still runs on delta-rs.
DELTA_JARS := .cache/delta-jars
jars: $(STAMP)
	@mkdir -p $(DELTA_JARS)
	@if PYTHON=$(PY) ./fetch-delta-jars.sh $(DELTA_JARS) >$(DELTA_JARS)/fetch.log 2>&1; then \
		rm -f $(DELTA_JARS)/UNAVAILABLE; tail -n 1 $(DELTA_JARS)/fetch.log; \
	else \
		{ echo "fetch-delta-jars.sh failed (Maven Central unreachable or mvn missing?):"; \
		  tail -n 5 $(DELTA_JARS)/fetch.log; } >$(DELTA_JARS)/UNAVAILABLE; \
		rm -f $(DELTA_JARS)/*.jar; \
		echo "no delta-spark JARs, delta-rs only:"; cat $(DELTA_JARS)/UNAVAILABLE; \
	fi

# Expanded when a recipe runs, i.e. after `jars` has fetched them.
DELTA_ENV = $(if $(wildcard $(DELTA_JARS)/*.jar),DTSEN_DELTA_JARS=$(abspath $(DELTA_JARS)))

DELIVERY = $(or $(INPUT),$(SYNTHETIC))
JOB = $(DELTA_ENV) $(PY) -m jobs.$(1) --conf $(CONF) --input $(DELIVERY) --warehouse $(WAREHOUSE)

# End to end: generate (unless INPUT names a delivery), ingest, link (scored against
# _truth/ on synthetic deliveries), train the PMT when there is no champion yet, rank
# (scored against _truth/ on synthetic deliveries), allocate.
run: $(STAMP) java jars
ifeq ($(INPUT),)
	$(call JOB,generate) $(if $(INDIVIDUALS),--individuals $(INDIVIDUALS))
endif
	$(call JOB,ingest)
	$(call JOB,link)
	@if [ -d "$(DELIVERY)/_truth" ]; then $(call JOB,evaluate_link); fi
	$(call JOB,train_pmt) --unless-champion
	$(call JOB,rank)
	@if [ -d "$(DELIVERY)/_truth" ]; then $(call JOB,evaluate_pmt); fi
	$(call JOB,allocate)
	$(call JOB,cek) --bangun
	$(call JOB,report)
ifeq ($(INPUT),)
	$(call APPLY_UPDATE,$(SYNTHETIC_UPDATE))
endif

# One quarter's update delivery applied to the register, then its period ranked,
# allocated and compared with the previous one (the period is the update's periode.txt).
UPDATE_JOB = $(DELTA_ENV) $(PY) -m jobs.$(1) --conf $(CONF) --input $(2) --warehouse $(WAREHOUSE) \
	--set ranking.periode=$$(cat $(2)/periode.txt)
define APPLY_UPDATE
	$(call UPDATE_JOB,update,$(1))
	$(call UPDATE_JOB,rank,$(1))
	$(call UPDATE_JOB,allocate,$(1))
	$(call UPDATE_JOB,movement,$(1))
	$(call UPDATE_JOB,cek,$(1)) --bangun
	$(call UPDATE_JOB,report,$(1))
endef

# make update INPUT=<update delivery> [WAREHOUSE=warehouse]
update: $(STAMP) java jars
	@test -n "$(INPUT)" || { echo "make update needs INPUT=<update delivery folder>"; exit 1; }
	$(call APPLY_UPDATE,$(INPUT))

generate: $(STAMP) java jars
	$(call JOB,generate) $(if $(INDIVIDUALS),--individuals $(INDIVIDUALS))

ingest link evaluate_link train_pmt rank evaluate_pmt allocate: $(STAMP) java jars
	$(call JOB,$@)

# Movement between two ranked periods: make movement DARI=2025Q1 KE=2025Q2
movement: $(STAMP) java jars
	$(call JOB,movement) $(if $(DARI),--dari $(DARI)) $(if $(KE),--ke $(KE))

# Cek DTSEN, one question answered from the latest lookup (no Spark):
# make cek NIK=3310... [KK=3310...] [JSON=1]
cek: $(STAMP)
	@test -n "$(NIK)" || { echo "make cek needs NIK=<16 digits> (and optionally KK=...)"; exit 1; }
	$(PY) -m jobs.cek --conf $(CONF) --warehouse $(WAREHOUSE) --nik $(NIK) \
		$(if $(KK),--kk $(KK)) $(if $(JSON),--json)

# Data balikan of a period: make export [INSTITUSI=all|<name>] [KAB=3310] [PERIODE=2025Q2]
export: $(STAMP) java jars
	$(call JOB,export) --institusi $(or $(INSTITUSI),all) $(if $(KAB),--kab $(KAB)) \
		$(if $(PERIODE),--set ranking.periode=$(PERIODE))

# The run report of a period: make report [PERIODE=2025Q2]
report: $(STAMP) java jars
	$(call JOB,report) $(if $(PERIODE),--set ranking.periode=$(PERIODE))

# The MLflow UI on the warehouse's SQLite store: http://127.0.0.1:$(MLFLOW_PORT)
MLFLOW_PORT ?= 5000
mlflow-ui: $(STAMP)
	$(VENV)/bin/mlflow ui --backend-store-uri sqlite:///$(abspath $(WAREHOUSE))/mlflow.db \
		--host 127.0.0.1 --port $(MLFLOW_PORT)

test: $(STAMP) java jars
	$(DELTA_ENV) $(PY) -m pytest

# Delete the files of a table folder that no Delta version references and that are older
# than OLDER_THAN_HOURS (default 24): what a killed or failed write left behind. No
# Spark: delta-rs reads the logs.
# make cleanup [TABLE=gold/link_individu] [OLDER_THAN_HOURS=24] [DRY_RUN=1]
OLDER_THAN_HOURS ?= 24
cleanup: $(STAMP)
	$(PY) -m dtsen.storage.cleanup --conf $(CONF) --warehouse $(WAREHOUSE) \
		--older-than-hours $(OLDER_THAN_HOURS) $(if $(TABLE),--table $(TABLE)) $(if $(DRY_RUN),--dry-run)

check: $(STAMP)
	$(VENV)/bin/ruff check jobs dtsen publish delivery linkage ranking conf tests benchmarks
	$(VENV)/bin/ruff format --check jobs dtsen publish delivery linkage ranking conf tests benchmarks

format: $(STAMP)
	$(VENV)/bin/ruff check --fix jobs dtsen publish delivery linkage ranking conf tests benchmarks
	$(VENV)/bin/ruff format jobs dtsen publish delivery linkage ranking conf tests benchmarks

clean:
	rm -rf $(VENV) build dist *.egg-info data warehouse .pytest_cache .ruff_cache
