# Local development and CI entry points. Everything runs as plain processes on
# 127.0.0.1 (no Docker engine on the dev/CI machines); see deploy/local/ and
# CONVENTIONS.md for ports, databases and environment variables.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

LOCAL := deploy/local
PY    := .venv/bin/python

# System environment (`make up`). Its database is `MP_DB`, else the one this checkout's system
# was started on (.run/system/database, written by claim.sh), else marketplace; exported to
# what the targets run, so the services and the CLIs find it.
DB           := $(or $(MP_DB),$(shell cat .run/system/database 2>/dev/null),marketplace)
export MP_DB := $(DB)
KAFKA_PORT   := 9092
KAFKA_CTRL   := 9093
# Prometheus (`make prometheus`): instance name under .run/, port and config; overridable.
PROMETHEUS_INSTANCE ?= prometheus
PROMETHEUS_PORT     ?= 9090
PROMETHEUS_CONFIG   ?= $(CURDIR)/deploy/prometheus/prometheus.yml
# Test environment (`make test`); overridable when those ports are taken.
TEST_DB         ?= marketplace_test
TEST_KAFKA_PORT ?= 19092
TEST_KAFKA_CTRL ?= 19093
PYTEST_ARGS     ?=
# pytest-xdist workers, each with a test database and a test Kafka of its own
# (deploy/local/test-env.sh: worker i's broker on TEST_KAFKA_PORT+2i). 1: one process, as
# `-s` and `--pdb` need.
TEST_WORKERS    ?= 2
# TEST_DB_FRESH=1: drop and recreate the test database before migrating (CI).
TEST_DB_FRESH   ?=
TEST_ENV        = $(TEST_WORKERS) $(TEST_DB) $(TEST_KAFKA_PORT) $(TEST_KAFKA_CTRL)

.PHONY: help setup up down run logs status test test-down lint rules-check prometheus prometheus-stop contracts contracts-check docs bench clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

setup: ## venv + local packages + dev tools, Kafka jars, stripe-mock (idempotent)
	@bash $(LOCAL)/setup.sh

up: setup ## start Postgres, Kafka, topics, migrations and all services
	@bash $(LOCAL)/postgres.sh start
	@bash $(LOCAL)/claim.sh $(DB)
	@bash $(LOCAL)/db.sh $(DB)
	@bash $(LOCAL)/claim.sh $(DB)
	@bash $(LOCAL)/kafka.sh start system $(KAFKA_PORT) $(KAFKA_CTRL)
	@bash $(LOCAL)/topics.sh 127.0.0.1:$(KAFKA_PORT)
	@bash $(LOCAL)/migrate.sh $(DB)
	@bash $(LOCAL)/services.sh start
	@# Demo listings, standing in for the upstream catalogue (an upsert: safe to repeat).
	@KAFKA_BOOTSTRAP=127.0.0.1:$(KAFKA_PORT) $(PY) -m booking seed-listings
	@echo
	@echo "Gateway (booking): http://127.0.0.1:8000"
	@echo "Mint a token:      $(PY) -m booking token --sub guest-1 --role guest"
	@echo "Logs:              make logs      Stop: make down"

# Postgres is the machine's shared Debian cluster (15/main): other checkouts and
# the test database live in it too, so `down` leaves it running on purpose.
down: ## stop services and the system Kafka (Postgres stays up: shared cluster)
	@bash $(LOCAL)/services.sh stop
	@bash $(LOCAL)/kafka.sh stop system

# Ctrl-C ends `tail`; the traps then run `make down`, so nothing is left behind.
# The services log readable text here (JSON otherwise: docs/observability-traces.md); the
# target-specific variable reaches `up`, which starts them.
run: export LOG_FORMAT ?= text
run: up ## up, follow all logs, Ctrl-C stops everything
	@trap '$(MAKE) --no-print-directory down' EXIT; trap 'exit 130' INT TERM; \
	 tail -n 20 -F .run/system/*.log

logs: ## follow the logs of the system environment
	@tail -n 50 -F .run/system/*.log

status: ## what is running
	@bash $(LOCAL)/postgres.sh status || true
	@bash $(LOCAL)/kafka.sh status system $(KAFKA_PORT) $(KAFKA_CTRL) || true
	@bash $(LOCAL)/kafka.sh status test $(TEST_KAFKA_PORT) $(TEST_KAFKA_CTRL) || true
	@for i in $$(seq 1 $$(($(TEST_WORKERS) - 1))); do bash $(LOCAL)/kafka.sh status test-w$$i \
		$$(($(TEST_KAFKA_PORT) + 2 * i)) $$(($(TEST_KAFKA_CTRL) + 2 * i)) || true; done
	@bash $(LOCAL)/services.sh status || true

test: setup ## run pytest, each worker on a test database (marketplace_test...) and a test Kafka of its own; PYTEST_ARGS=...
	@bash $(LOCAL)/postgres.sh start
	@bash $(LOCAL)/test-env.sh start $(if $(TEST_DB_FRESH),--fresh) $(TEST_ENV)
	env $$(bash $(LOCAL)/test-env.sh env $(TEST_ENV)) \
	STRIPE_MOCK_BIN=$(CURDIR)/.tools/bin/stripe-mock \
	$(PY) -m pytest $(if $(filter-out 0 1,$(TEST_WORKERS)),-n $(TEST_WORKERS)) $(PYTEST_ARGS)

test-down: ## stop the test Kafka brokers
	@bash $(LOCAL)/test-env.sh stop

lint: setup ## ruff check, ruff format --check, mypy, lint-imports (architecture boundaries), promtool (rules and their tests)
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	.venv/bin/lint-imports --no-cache
	@$(MAKE) --no-print-directory rules-check

rules-check: ## promtool: the Prometheus config, its rules and the rules' unit tests
	promtool check config deploy/prometheus/prometheus.yml
	promtool test rules deploy/prometheus/tests/*.yml

prometheus: ## Prometheus on 127.0.0.1:9090 scraping the local system (`make up`)
	@bash $(LOCAL)/prometheus.sh start $(PROMETHEUS_INSTANCE) $(PROMETHEUS_PORT) $(PROMETHEUS_CONFIG)

prometheus-stop: ## stop what `make prometheus` started
	@bash $(LOCAL)/prometheus.sh stop $(PROMETHEUS_INSTANCE) $(PROMETHEUS_PORT)

contracts: setup ## export JSON Schemas, then check compatibility
	$(PY) -m marketplace_contracts.export
	$(PY) -m marketplace_contracts.compat

contracts-check: setup ## fail if the contracts are incompatible or exported schemas are stale
	$(PY) -m marketplace_contracts.compat --check

docs: setup ## regenerate docs/asyncapi/*.json, docs/lifecycles.md, the diagram of docs/disputes.md and contracts/graphql/admin.graphql
	@for s in booking payments finance disputes; do \
	  $(PY) -m $$s asyncapi --output docs/asyncapi/$$s.json && echo "docs/asyncapi/$$s.json"; done
	$(PY) -m booking lifecycle-doc --output docs/lifecycles.md
	$(PY) -m disputes lifecycle-doc --output docs/disputes.md
	$(PY) -m ops graphql-schema --output contracts/graphql/admin.graphql

bench: setup ## benchmarks (expects `make up`)
	$(PY) bench/run_all.py

clean: down ## stop everything and delete the system: its database, .run (Kafka data, the simulator's state, logs)
	@bash $(LOCAL)/test-env.sh stop
	@bash $(LOCAL)/prometheus.sh stop $(PROMETHEUS_INSTANCE) $(PROMETHEUS_PORT)
	@bash $(LOCAL)/postgres.sh start || true
	@bash $(LOCAL)/claim.sh --drop $(DB)
	rm -rf .run
