# Hallmark: `make run` starts the embedded default; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.DEFAULT_GOAL := help

.PHONY: help venv run lint test test-unit test-integration test-e2e test-late-evening test-tools check-deploy bench bench-search postgres demo token seed rebuild verify kafka up down status clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON) on PATH" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP) ## create the virtualenv and install Hallmark into it

lint: venv ## static checks (ruff)
	$(BIN)/ruff check services shared tests

run: venv ## start Hallmark on http://127.0.0.1:8000 (SQLite files in ./data)
	$(BIN)/hallmark run

postgres: ## start the machine's PostgreSQL 15 (installing it if missing) for Hallmark
	deploy/postgres.sh start

kafka: ## start a local single-node Apache Kafka broker on 127.0.0.1:9092 (Java 17; jars fetched once)
	deploy/kafka/kafka.sh start .cache/kafka/broker 9092

up: venv ## distributed mode: PostgreSQL, Kafka and each service its own process on 8001-8005 (background)
	$(BIN)/hallmark up

down: venv ## stop everything 'make up' started (services, supervisor, and the broker if it started it)
	$(BIN)/hallmark down

status: venv ## each process of 'make up': pid, port, up/down, restarts, relay and consumer lag, parked
	@$(BIN)/hallmark status || true

test: venv postgres test-tools ## set everything up and run the whole suite (SQLite and PostgreSQL)
	$(BIN)/ruff check services shared tests
	HALLMARK_TEST_POSTGRES=1 $(BIN)/pytest -q -p no:cacheprovider
	$(MAKE) --no-print-directory test-late-evening
	deploy/check.sh

test-tools: ## install the Debian packages the suite drives (faketime, chromium) where missing
	deploy/test-tools.sh

# 23:30 UTC is already tomorrow in Brussels: every date a test, the demo or a command builds must come
# from the body's calendar, or this run fails (it once failed every night between 22:00/23:00 and 00:00 UTC).
LATE_EVENING := $(shell date -u +%F) 23:30:00
test-late-evening: venv test-tools ## the lifecycle, rules and demo at 23:30 UTC (faketime), on SQLite
	TZ=UTC faketime '$(LATE_EVENING)' $(BIN)/pytest -q -p no:cacheprovider -m 'not postgres' \
		tests/integration/test_lifecycle.py tests/integration/test_rules_api.py \
		tests/integration/test_late_evening.py tests/e2e/test_server.py::test_guided_demo_runs_the_whole_lifecycle \
		tests/integration/test_programme_api.py tests/integration/test_sanctions_api.py \
		tests/integration/test_governance_api.py tests/integration/test_person_api.py \
		tests/integration/test_system_api.py tests/e2e/test_server.py::test_guided_schemes_story_runs_through_the_api

test-unit: venv ## domain unit tests only (no I/O)
	$(BIN)/pytest -q tests/unit

test-integration: venv postgres ## API and integration tests on SQLite and PostgreSQL
	HALLMARK_TEST_POSTGRES=1 $(BIN)/pytest -q tests/integration

test-e2e: venv ## the end-to-end lifecycle and restart tests against a real server process
	$(BIN)/pytest -q tests/e2e

check-deploy: ## validate the Dockerfile, compose file and Kubernetes manifests offline
	deploy/check.sh

bench: venv postgres ## benchmarks: SQLite vs PostgreSQL; Kafka relay, freshness and commands/s (own broker); the public directory (wrk)
	$(BIN)/python -m tests.bench.bench_lifecycle --files $(or $(FILES),30)
	$(BIN)/python -m tests.bench.bench_kafka --events $(or $(EVENTS),20000) --files $(or $(FILES),30)
	@command -v wrk >/dev/null || sudo apt-get install -y wrk || apt-get install -y wrk
	$(BIN)/python -m tests.bench.bench_directory --certificates $(or $(N),20000)

bench-search: venv postgres ## the directory's search with N certificates in it on both stores (default 1,000,000: long)
	$(BIN)/python -m tests.bench.bench_directory --certificates 0 --search-scale $(or $(N),1000000)

demo: venv ## drive one full lifecycle against a running instance (make run first; STORY=people or STORY=schemes for the others)
	$(BIN)/hallmark demo --story $(or $(STORY),lifecycle)

token: venv ## print an admin token for the local default (make token SUB=alice ROLE=auditor)
	@$(BIN)/hallmark token --sub $(or $(SUB),admin) --role $(or $(ROLE),admin)

seed: venv ## load N made-up certificates with histories through the event path (make seed N=100000; stop the server first)
	$(BIN)/hallmark seed --certificates $(or $(N),10000)

rebuild: venv ## drop and rebuild the projections from the event stores (stop the server first)
	$(BIN)/hallmark rebuild

verify: venv ## recompute the transparency log from the event stores and check every signed checkpoint
	$(BIN)/hallmark trail verify

clean: ## remove the virtualenv and local data
	rm -rf $(VENV) .venv-deploy-check data .pytest_cache
