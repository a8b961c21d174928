# Two commands on a fresh machine: `make synth` and `make test`. Everything else builds on them.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Lambda runs python3.13, so the project (and its handler tests) does too.
# The first python3.13 that really runs (a pyenv shim may exist without the version being active).
PYTHON ?= $(shell for p in $$(ls -d $(HOME)/.pyenv/versions/3.13*/bin/python3.13 2>/dev/null) $$(command -v python3.13); do \
	"$$p" -c 'import sys' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
VENV := .venv
STAGE ?= sandbox
# The project's own Node 22 and CDK CLI come first: no end-of-life banner, a CLI that reads this aws-cdk-lib.
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
export CDK_DISABLE_CLI_TELEMETRY := true
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help setup synth test test-fast bench lint format diff diff-deployed bootstrap deploy destroy clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -n "$(PYTHON)" || { echo "error: python3.13 not found; install it (pyenv install 3.13) or pass PYTHON=..."; exit 1; }
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.installed node_modules/.installed  ## create the venv and install pinned Python and npm dependencies

synth: setup  ## synthesize every stack of every stage into cdk.out (cdk-nag errors fail it)
	cdk synth --quiet

test: setup  ## run the whole test suite (template, quality-gate and handler tests)
	pytest

test-fast: setup  ## template and config tests only (one synth, no emulators)
	pytest tests/stacks

# Figures, not pass/fail: synth and test-suite ratios, handler latency, edge timing, capacity and cost model.
bench: setup  ## measure and model; writes reports/bench-YYYY-MM-DD.{md,json}, PNGs and reports/latest.md (< 10 min)
	python -m bench.run

lint: setup  ## ruff, mypy, cfn-lint on the synthesized templates
	ruff check .
	ruff format --check .
	mypy stacks app.py lambda/chat_api/chat_api lambda/chat_stream/chat_stream lambda/edge_cache/edge_cache containers/web/web_app
	test -d cdk.out || cdk synth --quiet
	cfn-lint 'cdk.out/**/*.template.json'

format: setup  ## apply ruff's formatter and safe fixes
	ruff format .
	ruff check --fix .

# Offline: compare the app with the templates of a git revision (default HEAD) or of a folder.
BASE ?= HEAD
diff: setup  ## offline diff against git revision BASE (default HEAD) or templates in BASE_DIR
	python scripts/diff.py $(if $(BASE_DIR),--templates $(BASE_DIR),--git $(BASE))

diff-deployed: setup  ## diff STAGE against what is deployed (needs AWS credentials)
	cdk diff -c stage=$(STAGE) --all

bootstrap: setup  ## once per account: bootstrap the stage region and us-east-1 (edge functions)
	@test -n "$(ACCOUNT)" || { echo "usage: make bootstrap ACCOUNT=123456789012 [STAGE=sandbox]"; exit 1; }
	cdk bootstrap -c stage=$(STAGE) aws://$(ACCOUNT)/$$(python -c "from stacks.config import load_stage; print(load_stage('$(STAGE)').region)") aws://$(ACCOUNT)/us-east-1

deploy: setup  ## deploy every stack of STAGE (default sandbox) with your current AWS credentials
	cdk deploy -c stage=$(STAGE) --all --require-approval broadening

destroy: setup  ## delete every stack of STAGE (prod keeps its data: RETAIN/SNAPSHOT)
	cdk destroy -c stage=$(STAGE) --all

clean:  ## remove build output (keeps the venv and node_modules)
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache .hypothesis
