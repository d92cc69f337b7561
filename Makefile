# Two entry points for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-dev lint typecheck unit clean bench bench-delivery bench-hunt bench-api bench-rules

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/mantissa-log serve --host $(HOST) --port $(PORT)

lint: install-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports

typecheck: install-dev
	$(BIN)/mypy src/mantissa_log

unit: install-dev
	$(BIN)/pytest -n 2 -q

# The whole gate: style, layering, types, then every test (the tests start moto_server themselves).
test: lint typecheck unit

# The detection benchmark (benchmarks/README.md): BENCH_EVENTS events (default 1,000,000); last line `ratio: X`.
bench: install-dev
	$(BIN)/python -m benchmarks.bench_detection

# The hunting benchmark: `mantissa-log hunt` against Zircolite 3.7.0 (its own scratch venv), side by side.
bench-hunt: install-dev
	$(BIN)/python -m benchmarks.bench_hunt

# The delivery benchmark: DELIVERY_ALERTS alerts (default 10,000) through the outbox to a loopback webhook.
bench-delivery: install
	$(BIN)/python -m benchmarks.bench_delivery

# The API benchmark: a real server on loopback; 10 clients listing alerts + 10 posting ingests (BENCH_API_SECONDS).
bench-api: install
	$(BIN)/python -m benchmarks.bench_api

# Rules at scale: 1,000 rules (50 users x 20) over BENCH_RULES_EVENTS events (default 1,000,000) in one scheduler tick.
bench-rules: install-dev
	$(BIN)/python -m benchmarks.bench_rules

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
