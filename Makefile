# GridBot (网格通): the two quick-start commands, `make demo` and `make test`.
# Each creates .venv and installs the project into it first (again only when pyproject changes).

VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test lint bench

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	touch $@

demo: $(VENV)/.installed
	$(PY) bot.py demo

# pytest workers (pytest-xdist): every test has its own database and free ports, so two run side
# by side; PYTEST_WORKERS=0 runs the suite in one process. The deployment test (PostgreSQL and
# Redis only: ten processes of its own, timed takeovers) runs first, alone, when DATABASE_URL
# names PostgreSQL.
PYTEST_WORKERS ?= 2
# Compiled modules (pytest's rewritten tests too) are kept in __pycache__ (git ignores them) even
# where the environment sets PYTHONDONTWRITEBYTECODE: compiling everything afresh in every worker
# and every bot.py the tests start cost ~10 s of CPU a run.
PYCACHE := PYTHONDONTWRITEBYTECODE=

# SQLite always; PostgreSQL too with DATABASE_URL=postgresql+psycopg://user@host/db make test
test: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	@case "$$DATABASE_URL" in postgresql*) $(PYCACHE) $(PY) -m pytest -m deployment ;; \
	  *) echo "deployment test: PostgreSQL only (DATABASE_URL unset), not run" ;; esac
	$(PYCACHE) $(PY) -m pytest -n $(PYTEST_WORKERS) --dist worksteal -m "not deployment"

# ruff, then the layer contracts of pyproject.toml's [tool.importlinter]
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

bench: $(VENV)/.installed
	$(PY) -m pip install -q -e ".[bench]"
	$(PY) bench/callback_load.py
	$(PY) bench/classifier_speed.py
	$(PY) bench/classifier_accuracy.py
