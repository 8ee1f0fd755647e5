# MFA Helpdesk — the two README commands and their helpers.
#   make run   set up, migrate, seed the demo world and serve on http://127.0.0.1:8000
#   make test  set up and run the whole test suite (lint, format check, pytest)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

# The embedded default: SQLite, tasks in-process, debug on, staff MFA off (the login page
# says so). Variables from the caller's shell that would point elsewhere are dropped.
DEMO_ENV := env -u DATABASE_URL -u REDIS_URL -u CELERY_BROKER_URL DJANGO_DEBUG=true STAFF_MFA_REQUIRED=false

.PHONY: run test venv lint

# Python 3.12+ is required. Try $PYTHON, then python3.13/3.12/python3 on PATH, then any 3.12+
# that pyenv has installed (its shims fail for versions not selected, so use the binary).
define FIND_PYTHON
for cand in "$${PYTHON:-}" python3.13 python3.12 python3; do \
  [ -n "$$cand" ] || continue; \
  if "$$cand" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then \
    command -v "$$cand" || echo "$$cand"; exit 0; \
  fi; \
done; \
if command -v pyenv >/dev/null 2>&1; then \
  for v in $$(pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[2-9]|[2-9][0-9])(\.[0-9]+)*$$' | sort -t. -k1,1n -k2,2n -k3,3n -r); do \
    bin="$$(pyenv root)/versions/$$v/bin/python3"; \
    if [ -x "$$bin" ]; then echo "$$bin"; exit 0; fi; \
  done; \
fi; \
exit 1
endef

$(STAMP): pyproject.toml
	@if [ -x $(PY) ] && ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	  echo "Removing $(VENV): it was made with a Python older than 3.12."; rm -rf $(VENV); fi
	@if [ ! -x $(PY) ]; then \
	  python="$$( $(FIND_PYTHON) )" || { \
	    echo "MFA Helpdesk needs Python 3.12 or newer and found none (tried \$$PYTHON, python3.13, python3.12, python3 and pyenv's versions)." >&2; \
	    echo "Install Python 3.12+ or run: make $(MAKECMDGOALS) PYTHON=/path/to/python3.12" >&2; exit 1; }; \
	  echo "Creating $(VENV) with $$python ($$($$python --version))"; \
	  "$$python" -m venv $(VENV); \
	fi
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(DEMO_ENV) $(PY) manage.py migrate --noinput
	$(DEMO_ENV) $(PY) manage.py seed_demo
	@echo ""
	@echo "MFA Helpdesk is starting on http://$(HOST):$(PORT)/ (Ctrl-C stops it)"
	$(DEMO_ENV) $(PY) manage.py runserver $(HOST):$(PORT)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	env DJANGO_DEBUG=true $(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest
