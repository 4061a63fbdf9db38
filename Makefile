# The two commands a newcomer needs: `make run` and `make test`. The virtualenv lives in .venv.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1

.PHONY: bench-ab bench-client bench-targets bench-latency bench-stream install run serve test soak lint format bench clean screenshots

$(BIN)/.installed: requirements/base.txt requirements/dev.txt requirements/prod.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing the dependencies into $(VENV) (about a minute the first time; once only)..."
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements/dev.txt 2>&1 \
		| { grep -v "is ignored: it is neither a file nor a directory" || true; }
	$(BIN)/python -c "import django, aiohttp, uvicorn, pytest" 
	touch $@

install: $(BIN)/.installed

# Embedded default: SQLite in var/, a demo backend, the demo configuration and an admin login.
run: install
	$(BIN)/python -m gateway_project.launcher --host $(HOST) --port $(PORT)

# Production-style start (DATABASE_URL / REDIS_URL set): migrations, then uvicorn with the gateway's protocol.
serve: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python -m gateway_project.serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

test: install
	$(BIN)/python -m pytest

# Load and soak runs (minutes each, needs DATABASE_URL and REDIS_URL): audit under load and through a
# Postgres outage, 100k-row exports in bounded memory. Not part of `make test` / CI.
soak: install
	$(BIN)/python -m pytest -m soak

# ruff, mypy, and the layers of docs/architecture.md (import-linter contracts in pyproject.toml).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python bench/run.py

bench-ab: install
	$(BIN)/python bench/interleaved.py

bench-client: install
	$(BIN)/python bench/client_ab.py

# Issue 14's targets, interleaved, into docs/benchmarks.md (about 4 minutes).
bench-targets: install
	$(BIN)/python bench/targets.py

# Added latency at fixed rates (500 and 2,000 req/s), gateway against the upstream direct.
bench-latency: install
	$(BIN)/python bench/latency.py

# 1 GB streamed through the gateway to a slow-then-fast reader: the gateway's RSS growth.
bench-stream: install
	$(BIN)/python bench/stream.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache .import_linter_cache

# The admin's main pages as PNG files in docs/screenshots/ (an embedded gateway on a free port, Debian's chromium).
screenshots: install
	$(BIN)/python docs/screenshots/take.py
