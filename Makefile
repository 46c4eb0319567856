# Hub developer commands. `make run` and `make test` are all a newcomer needs: both create
# the virtualenv (.venv) on first use from pyproject.toml.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=
# Two pytest-xdist workers, each with its own embedded servers (or its own database and
# Redis database on HUB_TEST_*); PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= 2
CONTRACT_ARGS ?=

.PHONY: install run demo test test-tcp contract lint format bench check-migrations clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)  ## start the hub (embedded PostgreSQL + Redis unless HUB_DATABASE_URL/HUB_REDIS_URL)
	$(BIN)/hub run

demo: $(STAMP)  ## the demo organisations, people and documents of both stories (then `make run`)
	$(BIN)/hub demo

test: $(STAMP)  ## the whole suite, against embedded servers (or HUB_TEST_DATABASE_URL/HUB_TEST_REDIS_URL)
	$(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

test-tcp: $(STAMP)  ## integration + e2e tests that use the servers, again against PostgreSQL/Redis on 127.0.0.1 over TCP
	HUB_TEST_SERVER_TESTS_ONLY=1 HUB_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \
	HUB_TEST_REDIS_URL=redis://127.0.0.1:6379/15 \
	$(BIN)/pytest -n $(PYTEST_WORKERS) tests/integration tests/e2e $(PYTEST_ARGS)

contract: $(STAMP)  ## the API contract gate: pinned schemathesis, all checks, four phases, against a live hub
	$(BIN)/python -m tests.contract.gate $(CONTRACT_ARGS)

lint: $(STAMP)  ## ruff, mypy (strict) and import-linter
	$(BIN)/ruff check src tests migrations bench
	$(BIN)/ruff format --check src tests migrations bench
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format src tests migrations bench
	$(BIN)/ruff check --fix src tests migrations bench

check-migrations: $(STAMP)  ## fail when models and migrations drift
	$(BIN)/hub db check

bench: $(STAMP)  ## benchmarks (not part of the test run); see bench/README.md
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
