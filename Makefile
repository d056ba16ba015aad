# Clickstream analytics platform: one entry point for set-up, tests, deploys and the demo.
# `make help` lists the targets. Everything runs from the virtualenv that `make setup` makes.

SHELL        := /bin/bash
.SHELLFLAGS  := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON3      ?= python3
VENV         ?= .venv
CHECKOV_VENV ?= .venv-checkov
PY           := $(VENV)/bin/python
PYTEST       := $(PY) -m pytest
ENV          ?=
PYTEST_ARGS  ?=
# Two workers, whole files per worker (module fixtures share one apply or one gate run):
# each worker starts its own emulator and PostgreSQL. XDIST= runs serially.
XDIST        ?= -n 2 --dist loadfile
# make fuzz: hypothesis examples per fuzz test (4 tests) and the fewest cases that count as a run.
FUZZ_EXAMPLES  ?= 2600
FUZZ_MIN_CASES ?= 10000
TF_DIRS      := modules envs tests

.PHONY: help setup system-deps check test test-slow test-harness test-unit test-plan test-policy test-e2e \
        test-browser fuzz lint fmt docs build host-bundle preflight plan apply destroy security bench demo clean _venv

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

# --- set-up -------------------------------------------------------------------------------------
setup: system-deps _venv check ## create .venv (+ .venv-checkov), install pinned deps, check tools

system-deps: ## install missing system packages (PostgreSQL 15, Chromium, Node.js) when root
	@bash scripts/install_system_deps.sh

_venv:
	@test -x $(PY) || $(PYTHON3) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check "pip==25.3"
	@echo "installing the project and its pinned dependencies into $(VENV) ..."
	@$(PY) -m pip install --quiet --disable-pip-version-check -c requirements.lock -e . --group dev
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON3) -m venv $(CHECKOV_VENV)
	@$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check "pip==25.3"
	@echo "installing checkov into $(CHECKOV_VENV) (its pins conflict with moto's boto3) ..."
	@$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --group security

check: ## say exactly which required tool is missing and how to get it
	@$(PY) -m clickstream.prereqs

# --- tests --------------------------------------------------------------------------------------
test: _require_venv ## every test layer (harness, unit, plan, policy, e2e, browser), but not test-slow
	$(PYTEST) -m "not bench and not slow" $(XDIST) $(PYTEST_ARGS)

test-slow: _require_venv ## the whole-repository security gate's tests (the gate as make security runs it); CI runs it too
	$(PYTEST) -m "slow and not bench" $(PYTEST_ARGS)

test-harness: _require_venv ## tests of the harness itself
	$(PYTEST) -m harness $(PYTEST_ARGS)
test-unit: _require_venv ## unit tests
	$(PYTEST) -m unit $(PYTEST_ARGS)
test-plan: _require_venv ## terraform plan tests against YAML inventories
	$(PYTEST) -m plan $(PYTEST_ARGS)
test-policy: _require_venv ## checkov and custom policy checks
	$(PYTEST) -m policy $(PYTEST_ARGS)
test-e2e: _require_venv ## applies to the emulator, loads a real PostgreSQL
	$(PYTEST) -m e2e $(PYTEST_ARGS)
test-browser: _require_venv ## Playwright + system Chromium
	$(PYTEST) -m browser $(PYTEST_ARGS)
fuzz: _require_venv ## ingest fuzz suite: >= 10,000 hostile requests, then a summary of what they got
	INGEST_FUZZ_PROFILE=fuzz INGEST_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) INGEST_FUZZ_MIN_CASES=$(FUZZ_MIN_CASES) \
	  $(PYTEST) tests/unit/ingest/test_ingest_fuzz.py -q $(PYTEST_ARGS)

.PHONY: _require_venv
_require_venv:
	@test -x $(PY) || { echo "no $(VENV): run 'make setup' first" >&2; exit 2; }

# --- quality ------------------------------------------------------------------------------------
lint: _require_venv ## ruff, terraform fmt -check, terraform validate, README tables current (make docs)
	$(VENV)/bin/ruff check .
	$(PY) -m clickstream.tfdocs --check
	$(PY) -m clickstream.deploy fmt --check
	$(PY) -m clickstream.deploy validate

fmt: _require_venv ## format Python and Terraform
	$(VENV)/bin/ruff check --fix . || true
	$(PY) -m clickstream.deploy fmt

docs: _require_venv ## regenerate the variable/output tables in every module and env README
	$(PY) -m clickstream.tfdocs --write

# --- build and deploy ---------------------------------------------------------------------------
build: _require_venv host-bundle ## deterministic Lambda zips in build/lambda/ and host bundles in build/hosts/
	$(PY) -m clickstream.build

host-bundle: _require_venv ## the database hosts' bundles (bootstrap, units, migrations, wheels) in build/hosts/
	$(PY) -m clickstream.hostbundle

preflight: _require_venv ## read the AWS account for env $(ENV) and refuse what its first apply would fail on
	$(PY) -m clickstream.preflight --env "$(ENV)"

plan: _require_venv ## terraform plan of env $(ENV), a folder of envs/ (dev and prod: envs/aws with their tfvars)
	$(PY) -m clickstream.deploy plan --env "$(ENV)"
apply: _require_venv ## terraform apply of env $(ENV)
	$(PY) -m clickstream.deploy apply --env "$(ENV)"
destroy: _require_venv ## terraform destroy of env $(ENV)
	$(PY) -m clickstream.deploy destroy --env "$(ENV)"

security: _require_venv ## checkov reports in reports/ (junit, sarif, security.md)
	$(PY) -m clickstream.security

bench: _require_venv ## benchmarks -> reports/bench.json
	$(PY) -m clickstream.bench $(BENCH_ARGS)

demo: _require_venv ## the whole platform on this machine (Ctrl-C stops it)
	$(PY) -m clickstream.demo $(DEMO_ARGS)

clean: ## remove build output, caches and reports (keeps .venv)
	rm -rf build .cache reports/*.json reports/*.xml reports/*.sarif reports/*.md reports/plans .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -not -path "./.venv*" -exec rm -rf {} +
