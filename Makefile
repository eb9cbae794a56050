# One entry point for developers, CI and the README.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint typecheck unit integration services services-down tools dev bench clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -c requirements.lock -e '.[test,embedded]'
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

services:
	scripts/services up

services-down:
	scripts/services down

# What the tests drive besides the services: Debian's chromium and docker-compose (apt, if missing).
tools:
	scripts/services tools

unit: install
	$(BIN)/pytest tests/unit -q

integration: install services
	$(BIN)/pytest tests/integration -q

# The README's test command: lint, types, then every test against real Kafka and Redis, with
# the coverage of what the test process ran.
test: install services tools lint typecheck
	$(BIN)/pytest -q --cov --cov-report=term

# The README's run command: broker, Redis, worker, notifier, web view and a live feed, Ctrl-C stops all.
dev: install
	$(BIN)/monitor dev

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
