# The two commands: `make run` (embedded default) and `make test` (everything CI runs).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.9
MANAGE := $(PY) manage.py

# The production-like profile used by worker, beat and serve.
SERVICES_ENV := DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/retail} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} DEBUG=$${DEBUG:-0}

.PHONY: run test install system-deps messages worker beat serve lint types layers pytest bench bench-invoice bench-orders clean

$(VENV)/bin/uv:
	python=$$(scripts/find_python.sh) && $$python -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: $(VENV)/bin/uv pyproject.toml uv.lock
	$(VENV)/bin/uv sync --frozen --inexact --compile-bytecode --quiet
	touch $@

install: $(VENV)/.installed

system-deps:
	@scripts/system_deps.sh

messages: install
	@$(MANAGE) compilemessages --ignore=.venv --ignore=var -v0

## make run: SQLite, eager Celery, demo data, http://127.0.0.1:8000
run: system-deps messages
	$(MANAGE) migrate --no-input -v0
	$(MANAGE) load_demo
	$(MANAGE) runserver 127.0.0.1:8000

## make test: lint, types, layers, migrations, the whole suite on PostgreSQL and Redis
test: install
	@scripts/system_deps.sh --test
	@scripts/ensure_services.sh
	@$(MANAGE) compilemessages --ignore=.venv --ignore=var -v0
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports
	$(MANAGE) makemigrations --check --dry-run -v1
	$(VENV)/bin/pytest --create-db -n 2 --dist loadfile $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

types: install
	$(VENV)/bin/mypy .

layers: install
	$(VENV)/bin/lint-imports

pytest: install
	$(VENV)/bin/pytest $(PYTEST_ARGS)

## Production-like processes against PostgreSQL and Redis (defaults: local ones).
worker: install
	$(SERVICES_ENV) $(VENV)/bin/celery -A config worker --loglevel INFO

beat: install
	@mkdir -p var
	$(SERVICES_ENV) $(VENV)/bin/celery -A config beat --loglevel INFO --schedule var/celerybeat-schedule

serve: system-deps messages
	@mkdir -p var
	$(SERVICES_ENV) $(PY) scripts/create_database.py
	$(SERVICES_ENV) $(MANAGE) migrate --no-input -v0
	$(SERVICES_ENV) $(MANAGE) collectstatic --no-input -v0
	$(SERVICES_ENV) $(VENV)/bin/honcho start -f Procfile

## The invoice benchmark: median time to produce a 1-page and a 5-page invoice (PDF + XML + validation).
bench-invoice: install system-deps
	$(PY) scripts/bench_invoice.py

## The flash-sale benchmark (PostgreSQL database retail_bench): race and throughput figures.
bench: install
	@scripts/ensure_services.sh
	$(PY) scripts/bench_flash_sale.py

## The orders benchmark (retail_bench, served by gunicorn): orders placed and paid per second over HTTP, and 32 buyers racing for 300 units.
bench-orders: install
	@scripts/ensure_services.sh
	$(PY) scripts/bench_orders.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
