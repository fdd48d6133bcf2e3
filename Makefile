# The two commands every newcomer needs: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export HOST PORT

.PHONY: install run test lint browser-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py ensure_superuser
	$(BIN)/python manage.py collectstatic --no-input --verbosity 0
	$(BIN)/python manage.py runportal --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest -q

browser-test: install
	$(BIN)/python -m pytest -q -m browser tests/browser

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) var staticfiles
