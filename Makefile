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

.PHONY: run test check format generate ingest link evaluate_link clean java

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11) on PATH"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	rm -f $(VENV)/.installed-* && touch $@

java:
	@command -v java >/dev/null || { echo "need Java 17 (e.g. apt-get install openjdk-17-jre-headless)"; exit 1; }

DELIVERY = $(or $(INPUT),$(SYNTHETIC))
JOB = $(PY) -m jobs.$(1) --conf $(CONF) --input $(DELIVERY) --warehouse $(WAREHOUSE)

# Generate (unless INPUT names a delivery), ingest, link; score the linkage when the
# delivery carries ground truth (_truth/, synthetic deliveries only).
run: $(STAMP) java
ifeq ($(INPUT),)
	$(call JOB,generate) $(if $(INDIVIDUALS),--individuals $(INDIVIDUALS))
endif
	$(call JOB,ingest)
	$(call JOB,link)
	@if [ -d "$(DELIVERY)/_truth" ]; then $(call JOB,evaluate_link); fi

generate: $(STAMP) java
	$(call JOB,generate) $(if $(INDIVIDUALS),--individuals $(INDIVIDUALS))

ingest link evaluate_link: $(STAMP) java
	$(call JOB,$@)

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
