# Two commands for a fresh machine: `make up` (local stack) and `make test` (every test).
SHELL := /bin/bash
VENV ?= .venv
# Lambda runs python3.12, so the environment does too. A pyenv shim that is present but not
# installed fails the probe below and is skipped.
PYTHON312 ?= $(shell for p in python3.12 $$(pyenv root 2>/dev/null)/versions/3.12*/bin/python3.12 \
	$$HOME/.pyenv/versions/3.12*/bin/python3.12 /usr/local/bin/python3.12 /usr/bin/python3.12; do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
STAMP := $(VENV)/.installed-$(shell cat requirements/dev.txt pyproject.toml | sha1sum | cut -c1-12)

.PHONY: venv clients checkov up test test-fast bench lint clean sam-validate sam-build

$(STAMP): requirements/dev.txt pyproject.toml
	@if [ -z "$(PYTHON312)" ]; then \
	  echo "Python 3.12 is needed (Lambda's python3.12 runtime) and none was found."; \
	  echo "Install it, e.g. 'pyenv install 3.12' or your OS package 'python3.12', or run"; \
	  echo "'make PYTHON312=/path/to/python3.12 ...'."; exit 1; fi
	@test -x $(VENV)/bin/python || $(PYTHON312) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -r requirements/dev.txt
	$(VENV)/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.installed-*; touch $@

venv: $(STAMP)

up: venv
	$(VENV)/bin/lepton up

# kserve's V2 client is one of the stock clients the tests use; its pins conflict with ours, so
# it gets its own venv (the benchmark's, bench/venvs.py), made before the tests start.
clients: venv
	$(VENV)/bin/python -m bench.venvs kserve

# checkov pins boto3, networkx and packaging below requirements/dev.txt: its own venv too.
CHECKOV_VENV ?= .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(shell sha1sum requirements/checkov.txt | cut -c1-12)

$(CHECKOV_STAMP): requirements/checkov.txt
	@test -n "$(PYTHON312)" || { echo "Python 3.12 is needed for the checkov venv"; exit 1; }
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON312) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements/checkov.txt
	@rm -f $(CHECKOV_VENV)/.installed-*; touch $@

checkov: $(CHECKOV_STAMP)

# The SAM CLI pins boto3/click/pydantic, so it gets its own venv, never .venv.
SAM_VENV ?= .venv-sam
SAM := $(SAM_VENV)/bin/sam

# Test files run in TEST_WORKERS processes (pytest-xdist), each file whole in one of them so its
# module fixtures (a local stack, a trained model) start once; TEST_WORKERS=0 runs them in this one.
TEST_WORKERS ?= 2
# The SAM CLI's own venv too: tests/template translate the template with it (auth per route).
test: venv clients checkov $(SAM)
	$(VENV)/bin/python -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=25

test-fast: venv
	$(VENV)/bin/python -m pytest -m "not slow"

bench: venv
	$(VENV)/bin/lepton bench

lint: venv checkov
	$(VENV)/bin/cfn-lint template.yaml
	$(CHECKOV_VENV)/bin/checkov -f template.yaml --framework cloudformation --skip-download --compact

SAM_ENV := SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1}
ARCH ?= arm64

$(SAM):
	@test -n "$(PYTHON312)" || { echo "Python 3.12 is needed for the SAM CLI venv"; exit 1; }
	$(PYTHON312) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet aws-sam-cli==1.170.0

sam-validate: $(SAM)
	$(SAM_ENV) $(SAM) validate --lint --template-file template.yaml

# python3.12 first on PATH for the functions; ARCH picks the layers' architecture (sam build
# does not pass it to their Makefiles), the parameter the functions'.
sam-build: $(SAM)
	PATH="$(dir $(shell command -v $(PYTHON312))):$$PATH" ARCH=$(ARCH) $(SAM_ENV) \
		$(SAM) build --parameter-overrides Architecture=$(ARCH)

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) .lepton .aws-sam
