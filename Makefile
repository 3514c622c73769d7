# The two commands a newcomer types: `make demo` and `make test`. Each sets everything up first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup test demo bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

test: setup
	$(PY) -m pytest -q

# The embedded default: SQLite + local processes under .shoal-demo, no daemon needed.
DEMO := SHOAL_HOME=$(CURDIR)/.shoal-demo $(VENV)/bin/shoal
demo: setup
	rm -rf .shoal-demo
	$(DEMO) workflow apply examples/hello_ml.yaml
	$(DEMO) run hello_ml --wait
	$(DEMO) runs logs 1 report
	$(DEMO) run hello_ml --wait -p threshold=100
	$(DEMO) runs list

bench: setup
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	$(PY) benchmarks/engine_overhead.py
	$(PY) benchmarks/features_offline.py
	$(PY) benchmarks/features_online.py

clean:
	rm -rf $(VENV) .shoal .shoal-demo .pytest_cache
