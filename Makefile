# tracekit — every target installs what it needs through `setup` (idempotent).
SHELL := /bin/bash
PY_SYS ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TK := $(VENV)/bin/tracekit
UV_LOCAL := $(HOME)/.local/bin/uv
STORE ?= data/parquet
RAW ?= data/raw
SAMPLE ?= data/sample
DATA ?= sample
SEED ?= 7
SCALE ?=
# Empty: each command's own default (tracekit reports: every sampled trace; openb is read from its
# real files whenever they are found, see docs/reports.md). OPENB=none skips openb, OPENB=PATH
# names its folder.
TRACES ?=
OPENB ?=
OPTS = --data $(DATA) --raw $(RAW) --sample $(SAMPLE) --store $(STORE) --seed $(SEED) \
       $(if $(TRACES),--traces $(TRACES)) $(if $(SCALE),--scale $(SCALE)) \
       $(if $(OPENB),--openb $(OPENB))

.PHONY: setup lock sample ingest reports test bench lint lab data clean fuzz

# uv installs exactly the versions in uv.lock (all extras) into .venv; uv itself is bootstrapped
# with pip at a pinned version. `make lock` is the only target that changes uv.lock.
UV_VERSION ?= 0.13.9
UV_FIND = UV=$$(command -v uv || echo $(UV_LOCAL)); \
	if [ ! -x "$$UV" ]; then \
	  echo "setup: bootstrapping uv $(UV_VERSION) with pip"; \
	  $(PY_SYS) -m pip install --quiet --user "uv==$(UV_VERSION)" \
	    || $(PY_SYS) -m pip install --quiet "uv==$(UV_VERSION)"; \
	  UV=$$(command -v uv || echo $(UV_LOCAL)); \
	fi

$(VENV)/.installed: pyproject.toml uv.lock
	@$(UV_FIND); \
	$$UV sync --quiet --locked --all-extras --python $(PY_SYS)
	@touch $@

setup: $(VENV)/.installed

# Upgrade the pinned versions on purpose (then commit uv.lock).
lock:
	@$(UV_FIND); $$UV lock --upgrade

sample: setup
	$(TK) sample --out $(SAMPLE) --seed $(SEED) $(if $(TRACES),--traces $(TRACES)) \
	  $(if $(SCALE),--scale $(SCALE))

ingest: setup
	$(TK) reports --ingest-only $(OPTS)

# Pages, findings.csv, replay_study.csv, PNGs (skipped, and said so, without chromium), index.
reports: setup
	$(TK) reports $(OPTS) --out reports

test: setup
	$(PY) -m pytest -n 2 -q

bench: setup
	$(PY) -m benchmarks.run_all

# Hypothesis fuzzing of every reader: FUZZ_EXAMPLES generated inputs per reader (make test runs a
# small set of the same cases); prints one summary line per reader.
FUZZ_EXAMPLES ?= 10000
fuzz: setup
	@report=$$(mktemp); \
	TRACEKIT_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) TRACEKIT_FUZZ_REPORT=$$report POLARS_MAX_THREADS=1 \
	  $(PY) -m pytest tests/fuzz -n 2 -q -p no:randomly; status=$$?; \
	cat $$report; rm -f $$report; exit $$status

lint: setup
	$(VENV)/bin/ruff check .

# The notebooks open as notebooks (jupytext pairs each .py with an untracked .ipynb).
lab: setup
	$(VENV)/bin/jupytext --quiet --set-formats ipynb,py:percent notebooks/*.py
	$(VENV)/bin/jupyter lab notebooks/

data: setup
	$(TK) download all --dest $(RAW)

clean:
	rm -rf $(VENV) $(STORE) $(SAMPLE) reports/*.html reports/*.csv reports/*.json reports/_build \
	  reports/assets reports/figures reports/*.parquet \
	  .pytest_cache
