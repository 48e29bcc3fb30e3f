# Castboard: `make run` starts the studio, `make test` runs the checks and tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export DJANGO_DEBUG ?= true

.PHONY: run test lint install migrate demo bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Castboard needs Python 3.11 (found " + sys.version.split()[0] + ")")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Commands run by hand in this checkout (manage.py create_user, seed_demo, ...)
# read this file, so they see the same development settings as `make run`.
var/castboard.env:
	mkdir -p var
	printf '# Written by make run: this checkout is a local development install.\nDJANGO_DEBUG=true\n' > $@

migrate: install var/castboard.env
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py seed_demo

run: demo
	$(BIN)/python manage.py runstudio

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python manage.py makemigrations --check --dry-run

test: lint
	$(BIN)/pytest

bench: install
	$(BIN)/python bench/bench_board_page.py

clean:
	rm -rf var/queue var/test.sqlite3
