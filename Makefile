# The two commands every newcomer needs: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# A development checkout: make run / make test debug on purpose; production never runs through make.
DJANGO_DEBUG ?= true
export HOST PORT DJANGO_DEBUG

.PHONY: install run test lint browser-test bench resilience clean

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

# The resilience report (tests/resilience/): every fault and bad-input case on PostgreSQL + Redis, the slow
# ones included, then a table of cases, passed, events lost, effects doubled and 5xx answered. The fast part
# runs in .ci/run; this one's last table is kept in bench/results/resilience.txt.
RESILIENCE_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/portal_resilience
RESILIENCE_REDIS_URL ?= redis://127.0.0.1:6379/14
resilience: install
	pg_isready -h 127.0.0.1 -p 5432 -q || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
	command -v nginx >/dev/null || test -x /usr/sbin/nginx || (apt-get install -y -qq nginx >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq nginx))
	DATABASE_URL="$(RESILIENCE_DATABASE_URL)" REDIS_URL="$(RESILIENCE_REDIS_URL)" RESILIENCE_FULL=1 \
	  RESILIENCE_REPORT=bench/results/resilience.json $(BIN)/python -m pytest -q \
	  -m "resilience or resilience_full" tests

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) var staticfiles
