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

demo: setup
	SHOAL_HOME=$(CURDIR)/.shoal-demo $(PY) -m shoal.demo

bench: setup
	$(PY) benchmarks/engine_overhead.py

clean:
	rm -rf $(VENV) .shoal .shoal-demo .pytest_cache
