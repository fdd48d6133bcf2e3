# The two commands every newcomer needs: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export HOST PORT

.PHONY: install run test lint browser-test bench clean

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

# Benchmarks of the production profile (bench/README.md): PostgreSQL on 127.0.0.1:5432 (user postgres),
# Redis on 127.0.0.1:6379; minutes, not seconds. BENCH_ARGS="--parts ingest --rounds 1" for a part.
bench: install
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	command -v wrk >/dev/null || (apt-get install -y -qq wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk)) || echo "no wrk: the asyncio client measures saturation"
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) var staticfiles
