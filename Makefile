# DTSEN: the two commands a new user needs are `make run` and `make test`;
# both create the virtual environment and install the project first.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
INPUT ?=
WAREHOUSE ?= warehouse
SYNTHETIC := data/synthetic
CONF ?= conf/local.yaml
INDIVIDUALS ?=

.PHONY: run test check format generate ingest clean java

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11) on PATH"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	rm -f $(VENV)/.installed-* && touch $@

java:
	@command -v java >/dev/null || { echo "need Java 17 (e.g. apt-get install openjdk-17-jre-headless)"; exit 1; }

# Generate (unless INPUT names a delivery) and ingest.
run: $(STAMP) java
ifeq ($(INPUT),)
	$(PY) -m jobs.generate --conf $(CONF) --input $(SYNTHETIC) --warehouse $(WAREHOUSE) \
		$(if $(INDIVIDUALS),--individuals $(INDIVIDUALS))
	$(PY) -m jobs.ingest --conf $(CONF) --input $(SYNTHETIC) --warehouse $(WAREHOUSE)
else
	$(PY) -m jobs.ingest --conf $(CONF) --input $(INPUT) --warehouse $(WAREHOUSE)
endif

generate: $(STAMP) java
	$(PY) -m jobs.generate --conf $(CONF) --input $(SYNTHETIC) --warehouse $(WAREHOUSE) \
		$(if $(INDIVIDUALS),--individuals $(INDIVIDUALS))

ingest: $(STAMP) java
	$(PY) -m jobs.ingest --conf $(CONF) --input $(or $(INPUT),$(SYNTHETIC)) --warehouse $(WAREHOUSE)

test: $(STAMP) java
	$(PY) -m pytest

check: $(STAMP)
	$(VENV)/bin/ruff check jobs linkage ranking conf tests benchmarks
	$(VENV)/bin/ruff format --check jobs linkage ranking conf tests benchmarks

format: $(STAMP)
	$(VENV)/bin/ruff check --fix jobs linkage ranking conf tests benchmarks
	$(VENV)/bin/ruff format jobs linkage ranking conf tests benchmarks

clean:
	rm -rf $(VENV) build dist *.egg-info data warehouse .pytest_cache .ruff_cache
