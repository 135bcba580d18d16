# The two commands of the README: `make demo` and `make test`. Both set everything up first.
SHELL := /bin/bash
# Python 3.11 or 3.12 (pyproject's requires-python); 3.11 first, the version CI runs.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo test test-fast lint bench browsers clean help

help:
	@echo "make demo   set up and run the demo at http://localhost:8000 (SQLite, no servers)"
	@echo "make test   set up and run the whole suite (PostgreSQL, Redis, a Celery worker, Chromium)"

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] in {(3, 11), (3, 12)}, "layerwatch needs Python 3.11 or 3.12"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: $(INSTALLED)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py demo_setup
	$(BIN)/python manage.py run_demo

browsers:
	@tests/install-browser.sh

test: $(INSTALLED) browsers
	@source tests/services.sh && $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check .

BENCHES := bench/ml_speed.py bench/generalisation/run.py bench/detection.py bench/labels.py bench/groups.py bench/alerts.py bench/layouts.py bench/sequence.py bench/ui_pages.py bench/parts.py bench/parts_detected.py

bench: $(INSTALLED)
	@source tests/services.sh && for b in $(BENCHES); do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var .services
