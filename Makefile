# Two entry points for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-dev lint typecheck deploy-lint unit clean bench bench-delivery bench-hunt bench-api bench-rules browser bytecode

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# compileall: with PYTHONDONTWRITEBYTECODE set (as on our machines) Python never caches the
# package's bytecode itself, and every command would compile it again at start (~50 ms).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	$(BIN)/python -m compileall -q src
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/python -m compileall -q src
	touch $@ $(VENV)/.installed

# checkov pins boto3/botocore 1.35 (older than ours), so it gets a venv of its own; same pin as pyproject's `checkov` extra.
CHECKOV_VENV := .venv-checkov
CHECKOV_PIN := checkov==3.3.30
$(CHECKOV_VENV)/.installed:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet '$(CHECKOV_PIN)'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev $(CHECKOV_VENV)/.installed

# First run: installs, creates an admin (token printed once), loads demo activity with an intrusion
# inside plus the starter rules, and serves the API and the web UI. `mantissa-log serve` alone: no demo.
run: install
	$(BIN)/mantissa-log serve --host $(HOST) --port $(PORT) --demo

lint: install-dev
	$(BIN)/ruff check src tests benchmarks deploy
	$(BIN)/lint-imports

# The CloudFormation template and the Dockerfile under cfn-lint and checkov, for a reader's own use: the
# same checks run as tests in tests/deploy (so `make test` does not run them twice; checkov never calls
# home: --skip-download).
deploy-lint: install-dev
	$(BIN)/cfn-lint deploy/cloudformation.yaml
	$(CHECKOV_VENV)/bin/checkov -f deploy/cloudformation.yaml --framework cloudformation --compact --quiet --skip-download
	$(CHECKOV_VENV)/bin/checkov -f Dockerfile --framework dockerfile --compact --quiet --skip-download

typecheck: install-dev
	$(BIN)/mypy src/mantissa_log

# The browser tests drive Debian's Chromium (Playwright's own download is never used).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(CHROMIUM):
	$(SUDO) apt-get install -y chromium || ($(SUDO) apt-get update && $(SUDO) apt-get install -y chromium)

browser: $(CHROMIUM)

# loadgroup: the browser tests share one server and one browser on one worker (xdist_group "browser").
# --durations: the slowest tests in every run's output, to watch the whole run's 20-minute budget.
unit: install-dev browser
	$(BIN)/pytest -n 2 --dist loadgroup -q --durations=25

# The whole gate: style, layering, types, then every test (the tests start moto_server themselves; the
# template's cfn-lint, checkov and deployment checks are among them).
test: lint typecheck unit

# The package's bytecode as its sources are now, before every benchmark: the install compiles it once,
# and with PYTHONDONTWRITEBYTECODE set a source changed since (a pull) would be compiled again by every
# command it runs (a hunt: ~50 ms, half of a small one).
bytecode: install
	$(BIN)/python -m compileall -q src

# The detection benchmark (benchmarks/README.md): BENCH_EVENTS events (default 1,000,000), or BENCH_CAPTURE (your
# own CloudTrail file or folder); last line `ratio: X`.
bench: install-dev bytecode
	$(BIN)/python -m benchmarks.bench_detection

# The hunting benchmark: `mantissa-log hunt` against Zircolite 3.7.0 (its own scratch venv), side by side.
bench-hunt: install-dev bytecode
	$(BIN)/python -m benchmarks.bench_hunt

# The delivery benchmark: DELIVERY_ALERTS alerts (default 10,000) through the outbox to a loopback webhook.
bench-delivery: install bytecode
	$(BIN)/python -m benchmarks.bench_delivery

# The API benchmark: a real server on loopback; 10 clients listing alerts + 10 posting ingests (BENCH_API_SECONDS).
bench-api: install bytecode
	$(BIN)/python -m benchmarks.bench_api

# Rules at scale: 1,000 rules (50 users x 20) over BENCH_RULES_EVENTS events (default 1,000,000) in one scheduler tick.
bench-rules: install-dev bytecode
	$(BIN)/python -m benchmarks.bench_rules

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .mypy_cache .pytest_cache .ruff_cache test-artifacts
