# Kontur: `make demo` (set up + the main job on the embedded SQLite default) and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCALE ?= 1.0
DURATION ?=
PORT ?= 8080
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: setup deps demo test test-sqlite test-postgres check bench bench-inventory rules clean help

help:
	@echo "make demo   - set up, migrate, load the demo region if the database is empty, print a summary"
	@echo "make test   - set up and run the tests on SQLite, then on PostgreSQL when it is reachable"
	@echo "make check  - ruff (format + lint), mypy --strict, import-linter contracts"
	@echo "make bench  - benchmarks under bench/ (ratios against a floor measured in the same run)"

deps:
	@scripts/install-debian-deps

$(STAMP): pyproject.toml constraints.txt | deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# The main job: the CMDB (migrated, demo region loaded if empty, summary), then the live lab:
# simulated routers and coordinators, agents and the collector until Ctrl-C (or DURATION s).
demo: setup
	$(BIN)/kontur demo run --scale $(SCALE) --url http://127.0.0.1:$(PORT)/
	@$(BIN)/kontur serve --port $(PORT) & serve=$$!; \
	trap 'kill $$serve 2>/dev/null; wait $$serve 2>/dev/null' EXIT INT TERM; \
	$(BIN)/kontur lab run $(if $(DURATION),--duration $(DURATION))

test: setup
	@$(MAKE) --no-print-directory test-sqlite
	@if $(BIN)/python scripts/pg_reachable.py "$(PG_TEST_URL)"; then \
		$(MAKE) --no-print-directory test-postgres; \
	else \
		echo "PostgreSQL at $(PG_TEST_URL) is not reachable: PostgreSQL run skipped"; \
	fi

test-sqlite: setup
	@echo "=== tests on SQLite ==="
	env -u KONTUR_TEST_DATABASE_URL $(BIN)/pytest -q

test-postgres: setup
	@echo "=== tests on PostgreSQL ($(PG_TEST_URL)) ==="
	KONTUR_TEST_DATABASE_URL="$(PG_TEST_URL)" $(BIN)/pytest -q

check: setup
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: setup
	$(BIN)/python bench/snmp_poll.py
	$(BIN)/python bench/import_awp.py
	@if $(BIN)/python scripts/pg_reachable.py "$(PG_TEST_URL)"; then \
		$(BIN)/python bench/import_awp.py --database-url "$(PG_TEST_URL)"; \
		$(BIN)/python bench/sla_month.py --database-url "$(PG_TEST_URL)"; fi
	$(BIN)/python bench/fap_card.py

# Minutes at scale 1: Ansible itself parses 35k hosts on both sides (see docs/provisioning.md).
bench-inventory: setup
	$(BIN)/python bench/inventory.py --repeat 1

# Alert rules and their unit tests (make test runs these too).
rules:
	promtool check rules dashboards/prometheus/rules/*.yml
	promtool test rules dashboards/prometheus/tests/*.yml

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache *.egg-info
