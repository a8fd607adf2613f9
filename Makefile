# Stock Scanner: one command to run, one to test. Both are idempotent.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check

# mysqlclient needs MySQL client headers, so it is installed only when the database is MySQL.
ifneq (,$(findstring mysql://,$(DATABASE_URL)))
MYSQL_STAMP := $(VENV)/.mysql
endif

.PHONY: run test lint format migrate sample bench bench-load clean install install-dev

run: install $(MYSQL_STAMP) ## Install, migrate, load sample data, serve on http://127.0.0.1:8000
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_sample_data
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install-dev $(MYSQL_STAMP) ## Run the whole test suite
	$(BIN)/python -m pytest

lint: install-dev ## Lint with ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install $(MYSQL_STAMP) ## Benchmark at 100 000 stocks (see README.md, Benchmarks)
	$(BIN)/python -m bench.run

# Needs wrk (apt-get install wrk) and the naive peer (NAIVE_PEER=path/naive_peer.py).
NAIVE_PEER ?= ../shared/bench/naive_peer.py
bench-load: install $(MYSQL_STAMP) ## Load run under gunicorn + wrk at 100 000 stocks, vs baselines
	$(BIN)/python -m bench.load --naive-peer $(NAIVE_PEER)

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(PIP) -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt requirements-yahoo.txt | $(VENV)/bin/python
	$(PIP) -r requirements-dev.txt
	touch $(VENV)/.runtime $@

$(VENV)/.mysql: requirements-mysql.txt | $(VENV)/bin/python
	$(PIP) -r requirements-mysql.txt
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
