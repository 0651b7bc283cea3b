# tracekit — every target installs what it needs through `setup`.
SHELL := /bin/bash
PY_SYS ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
STORE ?= data/parquet
RAW ?= data/raw
SAMPLE ?= data/sample
DATA ?= sample
SCALE ?= 0.02
SEED ?= 7
TK := $(VENV)/bin/tracekit
export PLOTLY_RENDERER ?= plotly_mimetype+notebook

.PHONY: setup sample ingest reports test bench lint lab data clean

$(VENV)/.installed: pyproject.toml
	@command -v uv >/dev/null 2>&1 || test -x $(HOME)/.local/bin/uv || $(PY_SYS) -m pip install --quiet --user uv || $(PY_SYS) -m pip install --quiet uv
	@UVBIN=$$(command -v uv || echo $(HOME)/.local/bin/uv); \
	  test -x $(PY) || $$UVBIN venv --quiet --python $(PY_SYS) $(VENV); \
	  $$UVBIN pip install --quiet --python $(PY) -e '.[notebooks,distributed,dev]'
	@touch $@

setup: $(VENV)/.installed

sample: setup
	$(TK) sample --out $(SAMPLE) --scale $(SCALE) --seed $(SEED)

ingest: setup
	$(PY) -m tracekit.reports ingest --data $(DATA) --raw $(RAW) --sample $(SAMPLE) --store $(STORE) --scale $(SCALE) --seed $(SEED)

reports: setup
	$(PY) -m tracekit.reports all --data $(DATA) --raw $(RAW) --sample $(SAMPLE) --store $(STORE) --scale $(SCALE) --seed $(SEED) --out reports

test: setup
	$(PY) -m pytest -n 2 -q

bench: setup
	$(PY) -m benchmarks.run_all

lint: setup
	$(VENV)/bin/ruff check .

lab: setup
	$(VENV)/bin/jupyter lab notebooks/

data: setup
	$(TK) download all --dest $(RAW)

clean:
	rm -rf $(VENV) $(STORE) $(SAMPLE) reports/*.html reports/*.csv .pytest_cache
