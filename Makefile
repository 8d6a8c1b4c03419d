# The one entry point: `make run` starts the local stack, `make test` runs everything.
PYTHON_VERSION ?= 3.12.1
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= $(REGION)
FUNCTIONS := $(wildcard functions/*/app.py)
# The web console (console/): npm ci when the lock file changes, a build when a source does.
CONSOLE_STAMP := console/node_modules/.package-lock.json
CONSOLE_SOURCES := console/index.html console/vite.config.ts console/tsconfig.json \
	$(shell find console/src -type f 2>/dev/null)

.PHONY: help run test check lint typecheck unit integration e2e bench soak soak-notices token reset redrive \
	build clean policy sweep clock console console-publish browser

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(PY):
	@echo "Creating $(VENV) with Python 3.12..."
	@PYENV_VERSION=$(PYTHON_VERSION) python3 -m venv $(VENV) 2>/dev/null || python3.12 -m venv $(VENV)
	@$(PY) -c 'import sys; assert sys.version_info[:2] == (3, 12), "Python 3.12 is needed: install it (pyenv install 3.12) and rerun"'

$(VENV)/.run: $(PY) requirements-run.txt layers/core/requirements.txt
	@echo "Installing what the local stack needs (about a minute the first time)..."
	@$(PIP) -r requirements-run.txt
	@touch $@

$(VENV)/.dev: $(VENV)/.run requirements-dev.txt
	@echo "Installing the test and build tools (a few minutes the first time)..."
	@$(PIP) -r requirements-dev.txt
	@touch $@

run: $(VENV)/.run console/dist/index.html ## start the local stack and the console (Ctrl-C stops; state kept in .local/)
	@$(PY) -m infra.local_stack

$(CONSOLE_STAMP): console/package.json console/package-lock.json
	@command -v npm >/dev/null || { echo "The web console needs Node.js 20.19+ with npm: install it and rerun"; exit 1; }
	@echo "Installing the web console's npm packages (npm ci, a few seconds)..."
	@cd console && npm ci --no-audit --no-fund --loglevel=error

console/dist/index.html: $(CONSOLE_STAMP) $(CONSOLE_SOURCES)
	@echo "Building the web console into console/dist..."
	@cd console && npm run --silent build -- --logLevel warn

console: console/dist/index.html ## build the web console (npm ci, tsc, vite) into console/dist

console-publish: $(VENV)/.run console/dist/index.html ## upload the console to a deployed stack: make console-publish STACK=helpdesk-dev
	$(PY) console/publish.py --stack $(or $(STACK),helpdesk-dev) $(if $(AWS_REGION),--region $(AWS_REGION))

browser: ## install Debian's Chromium for the browser tests (root, apt-get), if it is missing
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

token: $(VENV)/.run ## print a dev JWT: make token ROLE=agent [SUB=alice]
	@$(PY) -m infra.dev_auth $(or $(ROLE),agent) $(SUB)

reset: ## forget the local stack's state (refuses while `make run` is going)
	@$(if $(wildcard $(PY)),$(PY),python3) -m infra.reset

sweep: $(VENV)/.run ## run a schedule now on the running local stack: make sweep NAME=sla_sweep
	@$(PY) -m infra.control sweep $(or $(NAME),sla_sweep)

clock: $(VENV)/.run ## move the running local stack's clock: make clock NOW=2026-12-01T10:00:00Z
	@$(PY) -m infra.control clock $(NOW)

redrive: $(VENV)/.run ## move dead-lettered jobs back: the local stack's, or a deployed one's (STACK=helpdesk-dev)
	@$(PY) -m infra.redrive $(if $(STACK),--stack $(STACK),$(if $(AWS),,--local))

lint: $(VENV)/.dev typecheck ## ruff, mypy, cfn-lint, sam validate --lint, policy-as-code
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/cfn-lint template.yaml
	$(VENV)/bin/sam validate --lint --region $(REGION)
	@PYTHON=$(PY) infra/policy/check.sh

policy: $(VENV)/.dev ## policy-as-code on template.yaml (checkov; rules in infra/policy/README.md)
	PYTHON=$(PY) infra/policy/check.sh

typecheck: $(VENV)/.dev ## mypy (strict) on the core, each function, the local stack, bench, tests
	$(VENV)/bin/mypy layers/core/helpdesk infra benchmarks tests console/publish.py
	@for handler in $(FUNCTIONS); do $(VENV)/bin/mypy $$handler || exit 1; done

check: $(VENV)/.dev ## the fast loop: ruff, mypy and the unit tests
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(MAKE) --no-print-directory typecheck
	$(PY) -m pytest tests/unit

unit: $(VENV)/.dev ## the unit tests (pure core, no network)
	$(PY) -m pytest tests/unit

integration: $(VENV)/.dev ## the handlers on moto
	$(PY) -m pytest tests/integration

e2e: $(VENV)/.dev console/dist/index.html ## the local stack over HTTP, and the console in Chromium
	$(PY) -m pytest tests/e2e

test: lint console/dist/index.html ## lint, then every test suite (unit, integration, end-to-end, browser)
	$(PY) -m pytest tests -n $${TEST_WORKERS:-2} --dist loadfile

bench: $(VENV)/.dev console/dist/index.html ## AWS calls, write units, handler times per event; local stack latency; sweeps; console; incident notices; staff topics; kb search; e-mail
	$(PY) -m benchmarks.run
	$(PY) -m benchmarks.local_stack
	$(PY) -m benchmarks.sweeps
	$(PY) -m benchmarks.console
	$(PY) -m benchmarks.notices
	$(PY) -m benchmarks.reports
	$(PY) -m benchmarks.topics
	$(PY) -m benchmarks.kb
	$(PY) -m benchmarks.email

soak: $(VENV)/.run ## loopback load test of the local stack (SOAK_RATE=20 SOAK_SECONDS=60); not in make test
	$(PY) -m benchmarks.soak

soak-notices: $(VENV)/.dev ## the incident fan-out test (crash, redeliveries, 429s) at 10,000 recipients (make test: 1,000)
	NOTICE_RECIPIENTS=$${NOTICE_RECIPIENTS:-10000} $(PY) -m pytest -s tests/e2e/test_local_notices.py

build: $(VENV)/.dev ## sam build (needs Python 3.12 on PATH, e.g. via pyenv)
	PYENV_VERSION=$(PYTHON_VERSION) PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/sam build

clean: ## remove the virtualenv and build output
	rm -rf .aws-sam $(VENV) infra/policy/.venv console/node_modules console/dist
