# Two commands matter: `make run` (the whole system on a local broker) and `make test`
# (lint, types and the whole suite against a real broker). Both bootstrap from a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
PYTEST_ARGS ?=

.PHONY: help bootstrap broker-jars run test lint format bench bench-smoke exports clean

help:
	@echo "make run    - start the broker (unless KAFKA_BOOTSTRAP is set), topics, services, gateway"
	@echo "make test   - lint (ruff), types (mypy strict) and the whole test suite on a real broker"
	@echo "make lint   - ruff and mypy only"
	@echo "make bench  - benchmarks, writes bench/results/latest.json and BENCHMARKS.md"
	@echo "make clean  - remove the virtualenv and local broker state"

bootstrap: $(STAMP)

$(STAMP): pyproject.toml
	@echo "==> creating the virtualenv in $(VENV) and installing the project (first run: about a minute)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --disable-pip-version-check -q --upgrade pip
	@$(PY) -m pip install --disable-pip-version-check --progress-bar off -e '.[dev]' 2>&1 \
		| grep -E '^(Collecting|Successfully|ERROR)' | sed -E 's/^Collecting /  collecting /' || true
	@$(PY) -c "import aiohttp, aiokafka, msgspec, structlog" || { echo "install failed"; exit 1; }
	@rm -f $(VENV)/.installed-* && touch $@

# The broker jars come from Maven Central once, then from the cache (nothing downloaded).
broker-jars: bootstrap
	@if [ -n "$$KAFKA_BOOTSTRAP" ]; then \
		echo "==> KAFKA_BOOTSTRAP=$$KAFKA_BOOTSTRAP: using that broker, no local one"; \
	else \
		$(PY) -m deploy.kafka fetch >/dev/null; \
	fi

run: broker-jars
	@$(VENV)/bin/cell up

lint: bootstrap
	@echo "==> ruff"
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@echo "==> mypy (strict)"
	@$(VENV)/bin/mypy

format: bootstrap
	@$(VENV)/bin/ruff format .
	@$(VENV)/bin/ruff check --fix .

test: broker-jars lint
	@echo "==> pytest (unit, integration on a real Kafka broker, 3-node cluster)"
	@$(PY) -m pytest $(PYTEST_ARGS)

bench: broker-jars
	@$(PY) -m bench

clean:
	rm -rf $(VENV) .state .mypy_cache .ruff_cache .pytest_cache .hypothesis
