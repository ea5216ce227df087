# IntelGraph — the two commands are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed

.PHONY: install run test lint typecheck unit bench services lock clean js-deps vendor-web

$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	@$(UV) pip install --quiet --compile-bytecode --python $(PY) --require-hashes -r requirements.lock
	@$(UV) pip install --quiet --python $(PY) --no-deps -e .
	@$(PY) -m compileall -q src/intelgraph >/dev/null  # CLI start-up reads bytecode, not source
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(VENV)/bin/intelgraph serve --demo

services:
	@bash scripts/ensure-services.sh

lint: install
	$(VENV)/bin/ruff check src tests bench examples
	$(VENV)/bin/ruff format --check src tests bench examples
	$(VENV)/bin/lint-imports --config .importlinter
	$(VENV)/bin/mypy src/intelgraph  # strict, with the pydantic plugin (pyproject.toml)

test: install services lint js-deps
	$(VENV)/bin/pytest -q

# The JavaScript clients the tests drive (tests/js: Apollo Client), once per lock; the tests
# run the same `npm ci` when this stamp is missing or older than the lock.
JS_TESTS := tests/js
$(JS_TESTS)/node_modules/.installed: $(JS_TESTS)/package.json $(JS_TESTS)/package-lock.json
	@cd $(JS_TESTS) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

js-deps: $(JS_TESTS)/node_modules/.installed

# GraphiQL and React are vendored (built files and licences committed under
# src/intelgraph/web/static/vendor/): `make run` needs no network. This refreshes them from
# web/package-lock.json; bump a version with `npm install --prefix web PKG@VERSION` first.
vendor-web:
	@cd web && npm ci --no-audit --no-fund --loglevel=error && node copy-assets.mjs

# Benchmark-only packages (Splink, recordlinkage) come from their own lock: `make run` stays lean.
$(VENV)/.bench-installed: $(STAMP) requirements-bench.lock
	@$(UV) pip install --quiet --python $(PY) --require-hashes -r requirements-bench.lock
	@touch $@

bench: install services $(VENV)/.bench-installed
	$(PY) bench/run_all.py

lock:
	$(UV) pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements.lock
	$(UV) pip compile pyproject.toml --extra dev --extra bench --generate-hashes --python-version 3.11 -o requirements-bench.lock

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
