# Every target creates .venv with the machine's python3 on first use; nothing is installed by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install lock run test lint graph bench browser clean

# Every dependency, transitive ones included, comes from requirements.lock with its hashes; the
# project itself is installed on top without resolving anything again.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# After changing a dependency in pyproject.toml: resolve again and pin every version with hashes.
lock: install
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --universal \
	  --python-version 3.11 --quiet --output-file requirements.lock

install: $(STAMP)

run: install
	$(BIN)/relink db upgrade
	$(BIN)/relink demo --if-empty
	$(BIN)/relink serve --with-sandbox

# The import rules of docs/architecture.md are contracts in pyproject.toml, checked by lint-imports.
lint: install
	$(BIN)/ruff check src tests bench tools examples
	$(BIN)/mypy
	$(BIN)/mypy tools bench examples
	$(BIN)/lint-imports --no-cache

# Which parts of src/relink import which, and the cycles between them (--imports: every import).
graph: install
	$(BIN)/python tools/import_graph.py

# Browser tests drive Debian's Chromium; Playwright's own download cannot work here.
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

test: install lint browser
	$(BIN)/pytest

# Figures on SQLite always, and on the local PostgreSQL when it answers (a fresh database).
bench: install
	@if psql -h 127.0.0.1 -d test -c 'select 1' >/dev/null 2>&1; then \
	  psql -q -h 127.0.0.1 -d test -c 'DROP DATABASE IF EXISTS relink_bench WITH (FORCE)' -c 'CREATE DATABASE relink_bench'; \
	  RELINK_BENCH_PG_URL=postgresql+psycopg://root@127.0.0.1:5432/relink_bench $(BIN)/python -m bench; \
	else $(BIN)/python -m bench; fi

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
