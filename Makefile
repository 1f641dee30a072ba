# Ferry's one entry point. `make test` works on a fresh machine: it creates the virtualenv,
# installs the project, fetches Kafka and builds the Kubernetes binaries into the cache
# (~/.cache/ferry, or $FERRY_CACHE), then runs lint, types and every test.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: all venv stack lint typecheck test unit integration e2e demo demo-standalone up down clean bench bench-quick

all: test

$(STAMP): pyproject.toml examples/plugin/pyproject.toml stack/requirements-s3-tests.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/pip install -q --no-deps -e examples/plugin
	$(BIN)/pip install -q --no-deps -r stack/requirements-s3-tests.txt
	touch $(STAMP)

venv: $(STAMP)

## Fetch Kafka jars and build kube-apiserver, kube-controller-manager, etcd and helm (cached).
stack: venv
	$(BIN)/python -m ferry_stack.build

lint: venv
	$(BIN)/ruff check worker operator stack tests examples bench
	$(BIN)/lint-imports

typecheck: venv
	$(BIN)/mypy worker/ferry operator/ferry_operator stack/ferry_stack bench

unit: venv
	$(BIN)/pytest tests/unit -q $(PYTEST_ARGS)

integration: venv
	$(BIN)/pytest tests/integration -q $(PYTEST_ARGS)

e2e: stack
	$(BIN)/pytest tests/e2e -q $(PYTEST_ARGS)

## Everything CI runs: lint, types, unit, integration (real Kafka), e2e (real control plane).
test: stack lint typecheck
	$(BIN)/pytest tests -q $(PYTEST_ARGS)

## Ferry's main job on the embedded default: a local Kafka broker and Kubernetes control plane,
## the operator, two Connectors applied, their worker pods moving the data.
demo: stack
	$(BIN)/python -m ferry_stack.demo_kube

## The same data path without Kubernetes: ferry run, a file in, a topic, a file out.
demo-standalone: venv
	$(BIN)/python -m ferry_stack.demo

## Start / stop the whole test stack by hand (Kafka, control plane, node agent).
up: stack
	$(BIN)/ferry-stack up
down: venv
	$(BIN)/ferry-stack down

## Ferry side by side with Kafka Connect and raw confluent-kafka (docs/benchmarks.md).
bench: venv
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python -m bench
bench-quick: venv
	$(BIN)/python -m bench --quick

clean:
	rm -rf $(VENV) .stack .mypy_cache .ruff_cache .pytest_cache
