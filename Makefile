# The two commands a newcomer types: `make demo` and `make test`. Each sets everything up first.
# `make test` runs every test (CI runs it, .ci/run); `make test-fast` leaves out the slow ones
# (real `shoal` processes, hot swaps, ML end to end, crashes) and those needing PostgreSQL/Redis.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# The web UI (ui/: React, built by Vite into shoal/api/ui/, which `shoal server` serves at /).
# npm ci runs when the lock file changes, the build when a file of ui/ does.
UI_DEPS  := ui/node_modules/.package-lock.json
UI_BUILT := shoal/api/ui/index.html
UI_SRC   := $(shell find ui -path ui/node_modules -prune -o -type f -print 2>/dev/null)
# Debian's chromium for the browser tests (apt: Playwright downloads no browser here).
CHROMIUM := /usr/bin/chromium
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup ui test test-fast demo bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[all,dev]'  # every extra: the demo and the tests use them all
	touch $(STAMP)

$(UI_DEPS): ui/package-lock.json
	cd ui && npm ci --no-audit --no-fund --loglevel=error

$(UI_BUILT): $(UI_DEPS) $(UI_SRC)
	cd ui && npm run build

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium

ui: $(UI_BUILT)

setup: $(STAMP) $(UI_BUILT) $(CHROMIUM)

test: setup
	cd ui && npm test --silent
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow and not integration"

# The embedded default: SQLite + local processes + the in-memory online store under .shoal-demo.
# TalkingData end to end: generate clicks, run the workflow (features -> xgboost -> AUC check ->
# deploy features online + release), then serve the released model and score a few clicks.
DEMO := SHOAL_HOME=$(CURDIR)/.shoal-demo $(VENV)/bin/shoal
demo: setup
	rm -rf .shoal-demo && mkdir -p .shoal-demo
	$(PY) examples/talkingdata/make_data.py .shoal-demo/clicks.csv --rows 200000
	$(DEMO) workflow apply examples/talkingdata/workflow.yaml
	$(DEMO) run talkingdata --wait -p data=$(CURDIR)/.shoal-demo/clicks.csv
	$(DEMO) model versions talkingdata
	SHOAL_HOME=$(CURDIR)/.shoal-demo $(PY) examples/talkingdata/serve_demo.py

bench: setup
	$(PY) benchmarks/engine_overhead.py
	$(PY) benchmarks/features_offline.py
	$(PY) benchmarks/features_online.py
	$(PY) benchmarks/serving.py
	$(PY) benchmarks/workflow_apply.py
	$(PY) benchmarks/cli_startup.py
	$(PY) benchmarks/model_feature_commands.py
	$(PY) benchmarks/api.py

clean:
	rm -rf $(VENV) .shoal .shoal-demo .pytest_cache ui/node_modules shoal/api/ui
