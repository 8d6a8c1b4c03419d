# The one entry point: `make run` starts the local stack, `make test` runs everything.
PYTHON_VERSION ?= 3.12.1
VENV := .venv
PY := $(VENV)/bin/python
REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= $(REGION)

.PHONY: run test lint unit integration e2e bench token reset build validate clean

$(VENV)/.installed: requirements-dev.txt layers/core/requirements.txt
	@test -x $(PY) || PYENV_VERSION=$(PYTHON_VERSION) python3 -m venv $(VENV) || python3.12 -m venv $(VENV)
	@$(PY) -c 'import sys; assert sys.version_info[:2] == (3, 12), "Python 3.12 is needed: install it (pyenv install 3.12) and rerun"'
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

run: $(VENV)/.installed ## start the local stack (Ctrl-C stops; state kept in .local/)
	$(PY) -m infra.local_stack

token: $(VENV)/.installed ## print a dev JWT: make token ROLE=agent [SUB=alice]
	@$(PY) -m infra.dev_auth $(or $(ROLE),agent) $(SUB)

reset: ## forget the local stack's state (stop `make run` first)
	@if [ -f .local/stack.pid ] && kill -0 "$$(cat .local/stack.pid)" 2>/dev/null; then \
		echo "The local stack is running (pid $$(cat .local/stack.pid)): stop it first, it saves its state on exit."; exit 1; fi
	rm -rf .local
	@echo "Local state removed."

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/cfn-lint template.yaml
	$(VENV)/bin/sam validate --lint --region $(REGION)

unit: $(VENV)/.installed
	$(PY) -m pytest tests/unit

integration: $(VENV)/.installed
	$(PY) -m pytest tests/integration

e2e: $(VENV)/.installed
	$(PY) -m pytest tests/e2e

test: lint ## ruff, cfn-lint, sam validate, then every test suite
	$(PY) -m pytest tests

bench: $(VENV)/.installed ## AWS calls, write units and handler times per event
	$(PY) -m benchmarks.run

build: $(VENV)/.installed ## sam build (needs Python 3.12 on PATH, e.g. via pyenv)
	PYENV_VERSION=$(PYTHON_VERSION) PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/sam build

clean:
	rm -rf .aws-sam $(VENV)
